import { randomBytes, randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { Command, Option } from 'commander';
import { Signer } from '../webhooks/signing.js';
import { installReconcileSchedule } from '../client/schedule.js';
import { bulkSummary, describeBulk, progressLine } from './bulk-report.js';
import { BulkFileError, networkCause, readBulkFile, sendBulk, type BulkLine, type LineResult } from './bulk.js';
import { readDevSecrets } from '../dev-secrets.js';
import { finalStatuses } from '../domain/refund-status.js';
import { formatNtd } from '../domain/format.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { randomHid } from '../sandbox/oen.js';

/**
 * `npx refundflow <command>`: talks to a running API (npm start, or REFUNDFLOW_API_URL) the way
 * order management and operators do. Human-readable output by default, `--json` for scripts;
 * exit code 1 with the API's reason on any refusal.
 */

class CliError extends Error {}

/** Where `--wait` stops: the engine is done, or has handed the refund to a person. */
const waitEndsAt: readonly string[] = [...finalStatuses, 'requires_attention'];
/** How long `--wait` waits for that before it gives up (exit 1); a refund awaiting approval is one it gives up on. */
const WAIT_LIMIT_SECONDS = 120;

interface Globals {
  api: string;
  json: boolean;
}

function dataDir(): string {
  return process.env.DATA_DIR ?? '.data';
}

function secretFrom(given: string | undefined): string {
  const secret = given ?? process.env.INGEST_WEBHOOK_SECRET ?? readDevSecrets({ DATA_DIR: dataDir() })?.ingestWebhookSecret;
  if (!secret) {
    throw new CliError('no webhook secret: pass --secret, set INGEST_WEBHOOK_SECRET, or run this where `npm start` keeps .data/dev-secrets.json');
  }
  return secret;
}

function tokenFrom(given: string | undefined): string {
  const token = given ?? process.env.OPERATOR_TOKEN ?? readDevSecrets({ DATA_DIR: dataDir() })?.operatorToken;
  if (!token) throw new CliError('no operator token: pass --token, set OPERATOR_TOKEN, or run this where `npm start` keeps .data/dev-secrets.json');
  return token;
}

async function call(url: string, init: RequestInit = {}, what = 'the API'): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (err) {
    const cause = networkCause(err);
    const where = what === 'the API' ? '--api or REFUNDFLOW_API_URL' : '--oen-url';
    throw new CliError(`cannot reach ${what} at ${new URL(url).origin} (${cause}): is \`npm start\` running? (${where})`);
  }
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { error: text };
  }
  if (response.status >= 400) {
    const problems = Array.isArray(body.problems)
      ? (body.problems as Array<{ field: string; problem: string }>).map((p) => `\n  ${p.field}: ${p.problem}`).join('')
      : '';
    throw new CliError(`${response.status}: ${typeof body.error === 'string' ? body.error : text}${problems}`);
  }
  return { status: response.status, body };
}

function print(globals: Globals, value: unknown, human: () => string): void {
  console.log(globals.json ? JSON.stringify(value, null, 2) : human());
}

function describeRefund(r: RefundRecord & { uiUrl?: string }): string {
  const rows: Array<[string, string | undefined]> = [
    ['provider', r.provider === 'oen' ? `oen (transaction ${r.transactionHid ?? '?'})` : 'mwd'],
    ['order', r.orderId],
    ['amount', formatNtd(r.amount)],
    ['attempts', String(r.attempts)],
    ['reference', r.providerReference],
    ['error', r.error ? `${r.error.code} — ${r.error.message}` : undefined],
    ['updated', r.updatedAt],
    ['Web UI', r.uiUrl],
  ];
  return [`${r.refundId}  ${r.status}`, ...rows.filter(([, v]) => v !== undefined).map(([k, v]) => `  ${k.padEnd(9)}  ${v}`)].join('\n');
}

async function waitForEnd(globals: Globals, refundId: string, timeoutMs: number): Promise<RefundRecord> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const { body } = await call(`${globals.api}/v1/refunds/${encodeURIComponent(refundId)}`).catch((err: unknown) => {
      if (err instanceof CliError && err.message.startsWith('404')) return { body: { status: 'received' } };
      throw err;
    });
    const status = String(body.status);
    if (status !== last && !globals.json) console.log(`… ${status}`);
    last = status;
    if (waitEndsAt.includes(status)) return body as unknown as RefundRecord;
    if (Date.now() > deadline) throw new CliError(`refund ${refundId} is still ${status} after ${timeoutMs / 1000}s; check it with \`refundflow status ${refundId}\``);
    await new Promise((r) => setTimeout(r, 300));
  }
}

export function buildCli(): Command {
  const program = new Command('refundflow')
    .description('Send refunds to a running refundflow API, and watch and steer them.')
    .addOption(
      new Option('--api <url>', 'the API').env('REFUNDFLOW_API_URL').default(`http://localhost:${process.env.PORT ?? '8080'}`),
    )
    .option('--json', 'machine-readable output', false)
    .showHelpAfterError();
  const globals = (): Globals => {
    const opts = program.opts<{ api: string; json: boolean }>();
    return { api: opts.api.replace(/\/+$/, ''), json: opts.json };
  };

  program
    .command('refund')
    .description('send a signed refund.requested event (Standard Webhooks), as order management does')
    .requiredOption('--order <orderId>', 'the order')
    .requiredOption('--amount <NT$>', 'whole NT$', (v) => Number(v))
    .addOption(new Option('--provider <provider>', 'the payment provider').choices(['oen', 'mwd']).default('oen'))
    .option('--transaction <hid>', 'Oen: the transaction HID (P2024…)')
    .option('--card-token <token>', 'MWD: the card token')
    .option('--refund-id <id>', 'your refund id (default: a new one)')
    .option('--reason <text>', 'why')
    .option('--event-id <id>', 'the event id (default: a new one; send one again to see the duplicate answer)')
    .option('--secret <whsec_…>', 'the webhook secret (default: INGEST_WEBHOOK_SECRET, or npm start’s development one)')
    .option(
      '--wait',
      `show each status until the refund is ${waitEndsAt.slice(0, -1).join(', ')} or ${waitEndsAt.at(-1)}, for at most ${WAIT_LIMIT_SECONDS} s; exit 1 unless it succeeded`,
      false,
    )
    .action(async (o: {
      order: string;
      amount: number;
      provider: 'oen' | 'mwd';
      transaction?: string;
      cardToken?: string;
      refundId?: string;
      reason?: string;
      eventId?: string;
      secret?: string;
      wait: boolean;
    }) => {
      const g = globals();
      const refundId = o.refundId ?? `RF-${randomUUID().slice(0, 13)}`;
      const data = {
        refundId,
        provider: o.provider,
        orderId: o.order,
        amount: o.amount,
        ...(o.reason !== undefined && { reason: o.reason }),
        ...(o.provider === 'oen' ? { transactionHid: o.transaction } : { cardToken: o.cardToken }),
      };
      const id = o.eventId ?? `evt_${randomUUID()}`;
      const body = JSON.stringify({ specversion: '1.0', id, source: 'refundflow-cli', type: 'refund.requested', time: new Date().toISOString(), data });
      const signer = new Signer(secretFrom(o.secret));
      const answer = await call(`${g.api}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signer.sign(id, body) },
        body,
      });
      const accepted = answer.body as { refunds?: Array<{ refundId: string; workflowId: string; uiUrl: string }> };
      const refund = accepted.refunds?.[0];
      if (!o.wait) {
        print(g, answer.body, () =>
          [`${answer.status === 202 ? 'accepted' : 'already accepted (same event)'}: refund ${refundId}`, `  Web UI  ${refund?.uiUrl ?? ''}`].join('\n'),
        );
        return;
      }
      if (!g.json) console.log(`accepted: refund ${refundId}\n  Web UI  ${refund?.uiUrl ?? ''}`);
      const record = await waitForEnd(g, refundId, WAIT_LIMIT_SECONDS * 1000);
      print(g, record, () => describeRefund(record));
      if (record.status !== 'succeeded') process.exitCode = 1;
    });

  program
    .command('status')
    .description('one refund, as the ledger has it')
    .argument('<refundId>')
    .action(async (refundId: string) => {
      const g = globals();
      const { body } = await call(`${g.api}/v1/refunds/${encodeURIComponent(refundId)}`);
      print(g, body, () => describeRefund(body as unknown as RefundRecord));
    });

  program
    .command('list')
    .description("an order's refunds, newest first")
    .requiredOption('--order <orderId>', 'the order')
    .option('--status <status>', 'only refunds in this status')
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: { order: string; status?: string; limit: string }) => {
      const g = globals();
      const query = new URLSearchParams({ orderId: o.order, limit: o.limit, ...(o.status !== undefined && { status: o.status }) });
      const { body } = await call(`${g.api}/v1/refunds?${query.toString()}`);
      const refunds = (body.refunds ?? []) as RefundRecord[];
      print(g, body, () =>
        refunds.length === 0
          ? `no refunds for order ${o.order}${o.status ? ` in status ${o.status}` : ''}`
          : refunds.map((r) => `${r.refundId.padEnd(24)} ${r.status.padEnd(18)} ${formatNtd(r.amount).padStart(12)}  ${r.updatedAt}`).join('\n') +
            (body.next ? `\n… more: raise --limit` : ''),
      );
    });

  for (const [action, description] of [
    ['approve', 'approve a refund awaiting approval'],
    ['reject', 'reject a refund awaiting approval (it ends cancelled)'],
    ['cancel', 'cancel a refund before it is submitted to the provider'],
  ] as const) {
    program
      .command(action)
      .description(`${description} (needs the operator token)`)
      .argument('<refundId>')
      .option('--by <name>', 'who decides, for the record')
      .option('--reason <text>', 'why, for the record')
      .option('--token <token>', 'the operator token (default: OPERATOR_TOKEN, or npm start’s development one)')
      .action(async (refundId: string, o: { by?: string; reason?: string; token?: string }) => {
        const g = globals();
        const { body } = await call(`${g.api}/v1/refunds/${encodeURIComponent(refundId)}/${action}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokenFrom(o.token)}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ...(o.by !== undefined && { by: o.by }), ...(o.reason !== undefined && { reason: o.reason }) }),
        });
        print(g, body, () => `${action}: refund ${refundId} is now ${String(body.status)}`);
      });
  }

  program
    .command('new-key')
    .description('a new payload encryption key, as a PAYLOAD_ENCRYPTION_KEYS entry (put it first to rotate)')
    .option('--id <keyId>', 'the key id stored beside each payload (default: today\'s date)')
    .action((o: { id?: string }) => {
      const g = globals();
      const id = o.id ?? new Date().toISOString().slice(0, 10);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new CliError('--id must be 1-64 of A-Z a-z 0-9 . _ -');
      const entry = `${id}:${randomBytes(32).toString('base64')}`;
      print(g, { keyId: id, entry }, () => entry);
    });

  const sandbox = program.command('sandbox').description('the provider emulators of `npm start`');
  sandbox
    .command('seed')
    .description('add a charged card transaction to the Oen emulator, and print the command that refunds it')
    .option('--order <orderId>', 'the order (default: a new one)')
    .option('--amount <NT$>', 'whole NT$', '1000')
    .addOption(new Option('--oen-url <url>', 'the Oen emulator').env('OEN_SANDBOX_URL').default(`http://127.0.0.1:${process.env.SANDBOX_OEN_PORT ?? '8301'}`))
    .action(async (o: { order?: string; amount: string; oenUrl: string }) => {
      const g = globals();
      const transactionHid = randomHid();
      const orderId = o.order ?? `DEMO-${transactionHid.slice(-8)}`;
      const amount = Number(o.amount);
      await call(`${o.oenUrl.replace(/\/+$/, '')}/__admin/seed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ transactions: [{ id: transactionHid, orderId, amount }] }),
      }, 'the Oen emulator');
      const command = `npx refundflow refund --order ${orderId} --transaction ${transactionHid} --amount ${amount} --wait`;
      print(g, { provider: 'oen', orderId, transactionHid, amount, command }, () =>
        [`seeded Oen transaction ${transactionHid}: order ${orderId}, ${formatNtd(amount)}, card, charged`, `refund it:\n  ${command}`].join('\n'),
      );
    });

  program
    .command('bulk')
    .description('send one refund.requested or order.cancelled event per line of a .csv or .jsonl file (docs/bulk.md); safe to interrupt and run again')
    .argument('<file>', 'a .csv file with a header row, or a .jsonl file with one JSON object per line')
    .option('--secret <whsec_…>', 'the webhook secret (default: INGEST_WEBHOOK_SECRET, or npm start’s development one)')
    .option('--concurrency <n>', 'events in flight at once', '8')
    .option('--rate <events/s>', 'send at most this many events per second (default: as fast as the API answers)')
    .action(async (file: string, o: { secret?: string; concurrency: string; rate?: string }) => {
      const g = globals();
      const concurrency = Number(o.concurrency);
      if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new CliError('--concurrency must be a whole number from 1 to 64');
      const rate = o.rate === undefined ? undefined : Number(o.rate);
      if (rate !== undefined && !(rate > 0)) throw new CliError('--rate must be a positive number of events per second');
      let lines: BulkLine[];
      try {
        lines = readBulkFile(file);
      } catch (err) {
        if (err instanceof BulkFileError) throw new CliError(err.message);
        throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const secret = secretFrom(o.secret);
      const stop = new AbortController();
      const onInterrupt = () => {
        if (stop.signal.aborted) process.exit(130);
        stop.abort();
        process.stderr.write('\ninterrupted: events under way finish, the rest are not sent (Ctrl-C again to quit at once)\n');
      };
      process.on('SIGINT', onInterrupt);
      const progress = progressLine(lines.length);
      const started = Date.now();
      let results: LineResult[];
      try {
        results = await sendBulk(lines, { apiUrl: g.api, secret, concurrency, ...(rate !== undefined && { rate }), signal: stop.signal, onProgress: progress.update });
      } finally {
        progress.end();
        process.off('SIGINT', onInterrupt);
      }
      const summary = bulkSummary(file, results, (Date.now() - started) / 1000, stop.signal.aborted);
      print(g, summary, () => describeBulk(summary));
      process.exitCode = stop.signal.aborted ? 130 : summary.rejected + summary.notSent > 0 ? 1 : 0;
    });

  const schedule = program.command('schedule').description('the Temporal Schedule that runs reconciliation (docs/reconciliation.md)');
  schedule
    .command('install')
    .description('create the reconciliation schedule on a Temporal cluster, or update its interval (npm start does this for its own server)')
    .addOption(new Option('--address <host:port>', 'the Temporal frontend').env('TEMPORAL_ADDRESS').default('localhost:7233'))
    .addOption(new Option('--namespace <namespace>', 'the namespace').env('TEMPORAL_NAMESPACE').default('default'))
    .addOption(new Option('--task-queue <name>', "the workers' task queue").env('REFUNDS_TASK_QUEUE').default('refunds'))
    .addOption(new Option('--every <seconds>', 'how often reconciliation runs').env('RECONCILE_INTERVAL_SECONDS').default('900'))
    .action(async (o: { address: string; namespace: string; taskQueue: string; every: string }) => {
      const g = globals();
      const intervalSeconds = Number(o.every);
      if (!Number.isInteger(intervalSeconds) || intervalSeconds < 60) throw new CliError('--every must be whole seconds, at least 60');
      const client = await temporalClient(o.address, o.namespace);
      try {
        const installed = await installReconcileSchedule(client, { taskQueue: o.taskQueue, intervalSeconds });
        print(g, installed, () =>
          [
            `${installed.kind} schedule ${installed.scheduleId} on ${o.address} (namespace ${o.namespace}): reconcileWorkflow every ${intervalSeconds} s on task queue "${o.taskQueue}"`,
            `  see it: temporal schedule describe --schedule-id ${installed.scheduleId} --address ${o.address} --namespace ${o.namespace}`,
          ].join('\n'),
        );
      } finally {
        await client.connection.close();
      }
    });

  return program;
}

/** A client of the Temporal frontend at `address`, or a plain error saying it cannot be reached. */
async function temporalClient(address: string, namespace: string): Promise<Client> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 5_000 });
    return new Client({ connection, namespace });
  } catch (err) {
    throw new CliError(`cannot reach Temporal at ${address} (${err instanceof Error ? err.message : String(err)}): set --address or TEMPORAL_ADDRESS`);
  }
}

try {
  await buildCli().parseAsync(process.argv);
} catch (err) {
  console.error(err instanceof CliError ? err.message : err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
}
