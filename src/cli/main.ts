import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { context } from './api.js';
import { bulkCommand } from './bulk-command.js';
import { decisionCommands } from './decision-commands.js';
import { ledgerCommands } from './ledger-commands.js';
import { CliError, exitCodeHelp, usageError } from './exit-codes.js';
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

export function buildCli(): Command {
  const program = new Command('refundflow')
    .description('Send refunds to a running refundflow API, and watch and steer them.')
    .version(version, '-V, --version', 'the version of refundflow')
    .addOption(new Option('--api <url>', 'the API').env('REFUNDFLOW_API_URL').default(`http://localhost:${process.env.PORT ?? '8080'}`))
    .option('--json', 'machine-readable output; errors as one JSON line on stderr: {"error", "exitCode", …}', false)
    .option('--token-file <path>', 'read the operator credential from this file (- : from stdin); also REFUNDFLOW_TOKEN_FILE')
    .option('--token <credential>', 'the operator credential itself (prefer --token-file or REFUNDFLOW_TOKEN)')
    // Every command inherits these: its usage errors come back here as CommanderErrors and are
    // said once, by `failed`: the error and "see --help", never the help itself (commander writes
    // nothing to stderr but errors and the help it shows for one). --help asked for goes to stdout.
    .exitOverride()
    .configureOutput({ outputError: () => undefined, writeErr: () => undefined })
    .configureHelp({ showGlobalOptions: true })
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

/** The command the words of `args` name (`sandbox` for `refundflow --json sandbox`), the program itself when none. */
function commandIn(program: Command, args: readonly string[]): Command {
  let command = program;
  for (const word of args) {
    command = command.commands.find((c) => c.name() === word || c.aliases().includes(word)) ?? command;
  }
  return command;
}

/** The exit code `err` ends the process with, having said why on stderr. */
function failed(err: unknown, program: Command, json: boolean): number {
  if (err instanceof CommanderError) {
    // --help and --version end here too, having printed what was asked.
    if (err.exitCode === 0) return 0;
    // A command that takes a subcommand was given none (`refundflow sandbox`): commander would show
    // its help; the CLI names the commands instead.
    const usage =
      err.code === 'commander.help'
        ? usageError(missingCommand(commandIn(program, process.argv.slice(2))))
        : // "error: unknown option '--bogus'\n(Did you mean --status?)" → one line, as the CLI's own usage errors read.
          usageError(err.message.replace(/^error: /, '').replace(/\.?\n\((.*)\)$/s, (_, hint: string) => ` (${hint.charAt(0).toLowerCase()}${hint.slice(1)})`));
    printError(json, usage);
    return usage.exitCode;
  }
  const cliError = err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err));
  printError(json, cliError);
  return cliError.exitCode;
}

/** "refundflow sandbox needs a command: seed". */
function missingCommand(command: Command): string {
  const path: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) path.unshift(c.name());
  const names = command.commands.map((c) => c.name()).filter((name) => name !== 'help');
  return `${path.join(' ')} needs a command: ${names.join(', ')}`;
}

const json = wantsJson(process.argv);
const program = buildCli();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = failed(err, program, json);
}
