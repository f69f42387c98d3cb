import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { TemporalConnection } from '../wiring/temporal-connection.js';
import { Option, type Command } from 'commander';
import { hostPort, httpUrl, nonEmpty, reconcileIntervalSeconds } from '../config.js';
import { formatNtd } from '../domain/format.js';
import { orderId, refundAmount } from '../domain/schemas/refund-request.js';
import { demoCommand, mwdDemo, oenDemo } from '../providers/sandbox-demo.js';
import { call, type CliContext } from './api.js';
import { CliError, usageError } from './exit-codes.js';
import { badValue, checkedBy, decimal, oneOf } from './flags.js';
import { print } from './output.js';

const providers = ['oen', 'mwd'] as const;

/** new-key, sandbox seed and schedule install: the commands that do not go through the API. */
export function toolCommands(program: Command, ctx: () => CliContext): void {
  program
    .command('new-key')
    .description('a new payload encryption key, as a PAYLOAD_ENCRYPTION_KEYS entry (put it first to rotate)')
    .option('--id <keyId>', "the key id stored beside each payload (default: today's date)")
    .action((o: { id?: string }) => {
      const id = o.id ?? new Date().toISOString().slice(0, 10);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw badValue('--id', 'must be 1-64 of A-Z a-z 0-9 . _ -', id);
      const entry = `${id}:${randomBytes(32).toString('base64')}`;
      print(ctx(), { keyId: id, entry }, () => entry);
    });

  const sandbox = program.command('sandbox').description('the provider emulators of `npm start`');
  const emulatorUrl = (flag: string, variable: string, port: string) =>
    new Option(`${flag} <url>`, `the ${variable.startsWith('OEN') ? 'Oen' : 'MWD'} emulator`)
      .env(variable)
      .default(`http://127.0.0.1:${port}`)
      .argParser(checkedBy(flag, httpUrl));
  sandbox
    .command('seed')
    .description('add a charged card payment to an emulator (Oen: a transaction; MWD: an order and its card token), and print the command that refunds it')
    .addOption(new Option('--provider <provider>', 'the emulator').choices(providers).argParser(oneOf('--provider', providers)).default('oen'))
    .option('--order <orderId>', 'the order (default: a new one)', checkedBy('--order', orderId))
    .option('--amount <NT$>', 'whole NT$ charged', checkedBy('--amount', refundAmount, decimal), 1000)
    .addOption(emulatorUrl('--oen-url', 'OEN_SANDBOX_URL', process.env.SANDBOX_OEN_PORT ?? '8301'))
    .addOption(emulatorUrl('--mwd-url', 'MWD_SANDBOX_URL', process.env.SANDBOX_MWD_PORT ?? '8302'))
    .action(async (o: { provider: (typeof providers)[number]; order?: string; amount: number; oenUrl: string; mwdUrl: string }) => {
      const demo = o.provider === 'oen' ? oenDemo(o.amount, o.order) : mwdDemo(o.amount, o.order);
      const [url, flag, name] = o.provider === 'oen' ? [o.oenUrl, '--oen-url', 'the Oen emulator'] : [o.mwdUrl, '--mwd-url', 'the MWD emulator'];
      await call(
        `${url.replace(/\/+$/, '')}/__admin/seed`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(demo.seed) },
        { what: name, where: flag },
      );
      const command = `npx refundflow ${demoCommand(demo)}`;
      const { request } = demo;
      const seeded =
        request.provider === 'oen'
          ? `seeded Oen transaction ${request.transactionHid}: order ${request.orderId}, ${formatNtd(request.amount)}, card, charged`
          : `seeded MWD order ${request.orderId}: ${formatNtd(request.amount)}, card token ${request.cardToken}, paid`;
      print(ctx(), { ...request, command }, () => [seeded, `refund it:\n  ${command}`].join('\n'));
    });

  const schedule = program.command('schedule').description('the Temporal Schedule that runs reconciliation (docs/reconciliation.md)');
  schedule
    .command('install')
    .description('create the reconciliation schedule on a Temporal cluster, or update its interval (npm start does this for its own server)')
    .addOption(
      new Option(
        '--address <host:port>',
        'the Temporal frontend (default: localhost:7233); TLS and API key from TEMPORAL_TLS_*, TEMPORAL_API_KEY (docs/operations.md)',
      )
        .env('TEMPORAL_ADDRESS')
        .argParser(checkedBy('--address', hostPort)),
    )
    .addOption(
      new Option('--namespace <namespace>', 'the namespace (default: default)').env('TEMPORAL_NAMESPACE').argParser(checkedBy('--namespace', nonEmpty)),
    )
    .addOption(
      new Option('--task-queue <name>', "the workers' task queue").env('REFUNDS_TASK_QUEUE').default('refunds').argParser(checkedBy('--task-queue', nonEmpty)),
    )
    .addOption(
      new Option('--every <seconds>', 'how often reconciliation runs, in whole seconds (at least 60)')
        .env('RECONCILE_INTERVAL_SECONDS')
        .default(900)
        .argParser(checkedBy('--every', reconcileIntervalSeconds, decimal)),
    )
    .action(async (o: { address?: string; namespace?: string; taskQueue: string; every: number }) => {
      const intervalSeconds = o.every;
      const temporal = await temporalSettings({ ...process.env, TEMPORAL_ADDRESS: o.address, TEMPORAL_NAMESPACE: o.namespace });
      const client = await temporalClient(temporal);
      try {
        const { installReconcileSchedule } = await import('../client/schedule.js');
        const installed = await installReconcileSchedule(client, { taskQueue: o.taskQueue, intervalSeconds });
        const { describeTemporalConnection } = await import('../wiring/temporal-connection.js');
        print(ctx(), installed, () =>
          [
            `${installed.kind} schedule ${installed.scheduleId} on ${describeTemporalConnection(temporal)}: reconcileWorkflow every ${intervalSeconds} s on task queue "${o.taskQueue}"`,
            `  see it: temporal schedule describe --schedule-id ${installed.scheduleId} --address ${temporal.address} --namespace ${temporal.namespace}`,
          ].join('\n'),
        );
      } finally {
        await client.connection.close();
      }
    });
}

/**
 * The connection the options and the environment describe (src/wiring/temporal-connection.ts); a
 * bad setting is a usage error naming its variable. Loaded only here, like the SDK below: they would
 * slow down the start of every other command.
 */
async function temporalSettings(env: NodeJS.ProcessEnv): Promise<TemporalConnection> {
  const [{ ConfigError }, { temporalConnection }] = await Promise.all([import('../config.js'), import('../wiring/temporal-connection.js')]);
  try {
    return temporalConnection(env);
  } catch (err) {
    if (err instanceof ConfigError) throw usageError(err.message);
    throw err;
  }
}

/** A client of the Temporal frontend, or a plain error saying it cannot be reached. */
async function temporalClient(temporal: TemporalConnection): Promise<Client> {
  const [{ Client, Connection }, { connectionHint, describeTemporalConnection }] = await Promise.all([
    import('@temporalio/client'),
    import('../wiring/temporal-connection.js'),
  ]);
  try {
    const connection = await Connection.connect({ ...temporal.connectionOptions, connectTimeout: 5_000 });
    return new Client({ connection, namespace: temporal.namespace });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new CliError(
      `cannot reach Temporal at ${describeTemporalConnection(temporal)}: ${connectionHint(message, temporal) ?? 'set --address or TEMPORAL_ADDRESS'} (${message})`,
      'unreachable',
    );
  }
}
