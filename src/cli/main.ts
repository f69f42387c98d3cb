import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { context } from './api.js';
import { bulkCommand } from './bulk-command.js';
import { decisionCommands } from './decision-commands.js';
import { ledgerCommands } from './ledger-commands.js';
import { CliError, exitCodeHelp } from './exit-codes.js';
import { listCommand } from './list-command.js';
import { operatorCommands } from './operator-commands.js';
import { printError } from './output.js';
import { refundCommands } from './refund-commands.js';
import { toolCommands } from './tool-commands.js';

/**
 * `npx refundflow <command>`: talks to a running API (npm start, or REFUNDFLOW_API_URL) the way
 * order management and operators do. Human-readable output by default, `--json` for scripts (errors
 * too: one JSON line on stderr); each way a command can end has its own exit code (exit-codes.ts).
 * Each command lives in the file for its job and is added here.
 */

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const credentialHelp = `Operator credential, sent to the API as "Authorization: Bearer <credential>"; the first of:
  --token-file PATH (- reads it from stdin), REFUNDFLOW_TOKEN, REFUNDFLOW_TOKEN_FILE, OPERATOR_TOKEN
  (deprecated), the developer's key in npm start's .data/dev-secrets.json. It is a named API key
  (refundflow operator add) or an OIDC access token. --token VALUE works too, but other users of
  the machine can see it in the process list.`;

/** Whether the command line asks for --json: decided before parsing, so that a usage error is JSON too. */
function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

export function buildCli(json = false): Command {
  const program = new Command('refundflow')
    .description('Send refunds to a running refundflow API, and watch and steer them.')
    .version(version, '-V, --version', 'the version of refundflow')
    .addOption(new Option('--api <url>', 'the API').env('REFUNDFLOW_API_URL').default(`http://localhost:${process.env.PORT ?? '8080'}`))
    .option('--json', 'machine-readable output; errors as one JSON line on stderr: {"error", "exitCode", …}', false)
    .option('--token-file <path>', 'read the operator credential from this file (- : from stdin); also REFUNDFLOW_TOKEN_FILE')
    .option('--token <credential>', 'the operator credential itself (prefer --token-file or REFUNDFLOW_TOKEN)')
    // Every command inherits these: its usage errors come back here as CommanderErrors, and with
    // --json nothing but the JSON error is written.
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => {
        if (!json) write(message);
      },
      writeErr: (text) => {
        if (!json) process.stderr.write(text);
      },
    })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .addHelpText('after', `\n${credentialHelp}\n\n${exitCodeHelp()}`);
  const ctx = () => context(program);
  refundCommands(program, ctx);
  listCommand(program, ctx);
  decisionCommands(program, ctx);
  operatorCommands(program, ctx);
  toolCommands(program, ctx);
  bulkCommand(program, ctx);
  ledgerCommands(program, ctx);
  return program;
}

/** The exit code `err` ends the process with, having said why on stderr. */
function failed(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version end here too, having printed what was asked.
    if (err.exitCode === 0) return 0;
    const usage = new CliError(err.message.replace(/^error: /, ''), 'usage');
    // Without --json, commander has already said it, with the help after it.
    if (json) printError(true, usage);
    return usage.exitCode;
  }
  const cliError = err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err));
  printError(json, cliError);
  return cliError.exitCode;
}

const json = wantsJson(process.argv);
try {
  await buildCli(json).parseAsync(process.argv);
} catch (err) {
  process.exitCode = failed(err, json);
}
