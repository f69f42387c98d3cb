import { cliErrorOf, buildCli } from './program.js';
import { printError } from './output.js';

/** `npx refundflow <command>` (bin/refundflow.mjs): the command line of src/cli/program.ts, run once. */

/** Whether the command line asks for --json: read before parsing, so that a usage error is JSON too. */
function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

const json = wantsJson(process.argv);
const program = buildCli();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const error = cliErrorOf(err, program, process.argv.slice(2));
  if (error) {
    printError(json, error);
    process.exitCode = error.exitCode;
  }
}
