import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { context } from './api.js';
import { bulkCommand } from './bulk-command.js';
import { decisionCommands } from './decision-commands.js';
import { deployCommands } from './deploy-commands.js';
import { ledgerCommands } from './ledger-commands.js';
import { CliError, exitCodeHelp, usageError } from './exit-codes.js';
import { listCommand } from './list-command.js';
import { operatorCommands } from './operator-commands.js';
import { outcomeCommands } from './outcome-commands.js';
import { refundCommands } from './refund-commands.js';
import { toolCommands } from './tool-commands.js';

/**
 * The `refundflow` command line (src/cli/main.ts runs it): talks to a running API (npm start, or
 * REFUNDFLOW_API_URL) the way order management and operators do. Human-readable output by default,
 * `--json` for scripts (errors too: one JSON line on stderr); each way a command can end has its own
 * exit code (exit-codes.ts). Each command lives in the file for its job and is added here.
 */

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const credentialHelp = `Operator credential, sent to the API as "Authorization: Bearer <credential>"; the first of:
  --token-file PATH (- reads it from stdin), REFUNDFLOW_TOKEN, REFUNDFLOW_TOKEN_FILE, OPERATOR_TOKEN
  (deprecated), the developer's key in npm start's .data/dev-secrets.json. It is a named API key
  (refundflow operator add) or an OIDC access token. --token VALUE works too, but other users of
  the machine can see it in the process list.`;

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
  outcomeCommands(program, ctx);
  toolCommands(program, ctx);
  bulkCommand(program, ctx);
  ledgerCommands(program, ctx);
  deployCommands(program, ctx);
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

/**
 * What a run of `program` on `args` (the words after `refundflow`) that threw `err` ends with, as a
 * CliError to print; undefined when it ended as asked (--help, --version).
 */
export function cliErrorOf(err: unknown, program: Command, args: readonly string[]): CliError | undefined {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return undefined;
    // A command that takes a subcommand was given none (`refundflow sandbox`): commander would show
    // its help; the CLI names the commands instead.
    if (err.code === 'commander.help') return usageError(missingCommand(commandIn(program, args)));
    // "error: unknown option '--bogus'\n(Did you mean --status?)" → one line, as the CLI's own usage errors read.
    return usageError(
      err.message.replace(/^error: /, '').replace(/\.?\n\((.*)\)$/s, (_, hint: string) => ` (${hint.charAt(0).toLowerCase()}${hint.slice(1)})`),
    );
  }
  return err instanceof CliError ? err : new CliError(err instanceof Error ? err.message : String(err));
}

/** "refundflow sandbox needs a command: seed". */
function missingCommand(command: Command): string {
  const path: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) path.unshift(c.name());
  const names = command.commands.map((c) => c.name()).filter((name) => name !== 'help');
  return `${path.join(' ')} needs a command: ${names.join(', ')}`;
}
