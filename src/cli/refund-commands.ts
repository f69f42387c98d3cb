import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import { finalStatuses, type RefundStatus } from '../domain/refund-status.js';
import { cloudEvent } from '../domain/schemas/events.js';
import { refundIdSchema, refundRequested } from '../domain/schemas/refund-request.js';
import { Signer } from '../webhooks/signing.js';
import { callApi, type CliContext } from './api.js';
import { webhookSecret } from './credentials.js';
import { durationFlag, formatDuration } from './durations.js';
import { CliError, exitCodeHelp, exitCodeOfStatus, usageError } from './exit-codes.js';
import { checkRequest, checkedBy, decimal, oneOf } from './flags.js';
import { describeRefund, print, type RefundView } from './output.js';
import { webUiViewLines } from './web-ui-links.js';

/** Where `--wait` stops: the engine is done, or has handed the refund to a person. */
const waitEndsAt: readonly RefundStatus[] = [...finalStatuses, 'requires_attention'];
/** How long `--wait` waits when no --timeout is given. */
const DEFAULT_WAIT_MS = 120_000;
const POLL_MS = 300;

const waitOptions = (command: Command): Command =>
  command
    .option(
      '--wait',
      `show each status until the refund is ${waitEndsAt.slice(0, -1).join(', ')} or ${waitEndsAt.at(-1)}; the exit code says which (below)`,
      false,
    )
    .addHelpText('after', `\n${exitCodeHelp()}`)
    .addOption(
      new Option(
        '--timeout <duration>',
        `with --wait: give up after this long (90s, 15m, 1h, 2d), exit code 4 (default: ${formatDuration(DEFAULT_WAIT_MS)})`,
      ).argParser(durationFlag('--timeout')),
    );

/** --wait's limit, or undefined without --wait; --timeout alone is a usage error. */
function waitLimit(o: { wait: boolean; timeout?: number }): number | undefined {
  if (!o.wait && o.timeout !== undefined) throw usageError('--timeout applies only with --wait');
  return o.wait ? (o.timeout ?? DEFAULT_WAIT_MS) : undefined;
}

const refundPath = (refundId: string) => `/v1/refunds/${encodeURIComponent(refundId)}`;

/** The refund's record once it is in a status `--wait` stops at, showing each status on the way (not with --json). */
async function waitForEnd(ctx: CliContext, refundId: string, timeoutMs: number): Promise<RefundView> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    // An accepted refund is in the inbox before the API answers, so a 404 here means no such refund.
    const { body } = await callApi(ctx, 'GET', refundPath(refundId), { use: 'optional' });
    const status = String(body.status);
    if (status !== last && !ctx.json) console.log(`… ${status}`);
    last = status;
    if ((waitEndsAt as readonly string[]).includes(status)) return body as unknown as RefundView;
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new CliError(
        `refund ${refundId} is still ${status} after ${formatDuration(timeoutMs)}; follow it with \`refundflow status ${refundId} --wait --timeout …\``,
        'timedOut',
        { refundId, status },
      );
    }
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, left)));
  }
}

/** Prints one refund, and ends with the exit code its status means. */
function report(ctx: CliContext, record: RefundView): void {
  print(ctx, record, () => [describeRefund(record), ...webUiViewLines([record])].join('\n'));
  process.exitCode = exitCodeOfStatus(record.status);
}

/** The flag each field of a refund.requested event's data comes from. */
const refundFlags = {
  refundId: '--refund-id',
  provider: '--provider',
  orderId: '--order',
  amount: '--amount',
  reason: '--reason',
  transactionHid: '--transaction',
  cardToken: '--card-token',
} as const;

const providers = ['oen', 'mwd'] as const;

interface RefundFlags {
  order?: string;
  amount?: string;
  provider: (typeof providers)[number];
  transaction?: string;
  cardToken?: string;
  refundId?: string;
  reason?: string;
  eventId?: string;
  secret?: string;
  wait: boolean;
  timeout?: number;
}

/**
 * The event's data from the flags, checked against the API's own schema (refundRequested): a flag
 * of the other provider, or any problem the API would give a 422 for, is a usage error naming it.
 */
function refundData(o: RefundFlags, refundId: string) {
  const [own, other] = o.provider === 'oen' ? (['--transaction', '--card-token'] as const) : (['--card-token', '--transaction'] as const);
  if ((o.provider === 'oen' ? o.cardToken : o.transaction) !== undefined) {
    throw usageError(`${other} is for --provider ${o.provider === 'oen' ? 'mwd' : 'oen'}; a refund with --provider ${o.provider} names its ${own}`);
  }
  return checkRequest(
    refundRequested,
    {
      refundId,
      provider: o.provider,
      orderId: o.order,
      amount: o.amount === undefined ? undefined : decimal(o.amount),
      ...(o.reason !== undefined && { reason: o.reason }),
      ...(o.provider === 'oen' ? { transactionHid: o.transaction } : { cardToken: o.cardToken }),
    },
    refundFlags,
    {
      typed: o.amount === undefined ? {} : { amount: o.amount },
      required: {
        transactionHid: 'is required with --provider oen: the transaction HID (P2024…)',
        cardToken: 'is required with --provider mwd: the card token',
      },
    },
  );
}

export function refundCommands(program: Command, ctx: () => CliContext): void {
  waitOptions(
    program
      .command('refund')
      .description('send a signed refund.requested event (Standard Webhooks), as order management does')
      .option('--order <orderId>', 'the order (required)')
      .option('--amount <NT$>', 'whole NT$ (required)')
      .addOption(new Option('--provider <provider>', 'the payment provider').choices(providers).argParser(oneOf('--provider', providers)).default('oen'))
      .option('--transaction <hid>', 'Oen: the transaction HID (P2024…; required with --provider oen)')
      .option('--card-token <token>', 'MWD: the card token (required with --provider mwd)')
      .option('--refund-id <id>', 'your refund id (default: a new one)', checkedBy('--refund-id', refundIdSchema))
      .option('--reason <text>', 'why')
      .option('--event-id <id>', 'the event id (default: a new one; send one again to see the duplicate answer)', checkedBy('--event-id', cloudEvent.shape.id))
      .option('--secret <whsec_…>', 'the webhook secret (default: INGEST_WEBHOOK_SECRET, or npm start’s development one)'),
  ).action(async (o: RefundFlags) => {
    const limit = waitLimit(o);
    const refundId = o.refundId ?? `RF-${randomUUID().slice(0, 13)}`;
    const data = refundData(o, refundId);
    const signer = new Signer(webhookSecret(o.secret));
    const c = ctx();
    const id = o.eventId ?? `evt_${randomUUID()}`;
    const body = JSON.stringify({ specversion: '1.0', id, source: 'refundflow-cli', type: 'refund.requested', time: new Date().toISOString(), data });
    const answer = await callApi(c, 'POST', '/v1/events', {
      use: 'none',
      headers: { 'content-type': 'application/json', ...signer.sign(id, body) },
      body,
    });
    const refund = (answer.body as { refunds?: Array<{ uiUrl: string }> }).refunds?.[0];
    if (limit === undefined) {
      print(c, answer.body, () =>
        [`${answer.status === 202 ? 'accepted' : 'already accepted (same event)'}: refund ${refundId}`, `  Web UI  ${refund?.uiUrl ?? ''}`].join('\n'),
      );
      return;
    }
    if (!c.json) console.log(`accepted: refund ${refundId}\n  Web UI  ${refund?.uiUrl ?? ''}`);
    report(c, await waitForEnd(c, refundId, limit));
  });

  waitOptions(
    program
      .command('status')
      .description('one refund, as the ledger has it; the exit code says its status (below)')
      .argument('<refundId>', 'the refund', checkedBy('<refundId>', refundIdSchema)),
  ).action(async (refundId: string, o: { wait: boolean; timeout?: number }) => {
    const limit = waitLimit(o);
    const c = ctx();
    if (limit !== undefined) return report(c, await waitForEnd(c, refundId, limit));
    const { body } = await callApi(c, 'GET', refundPath(refundId), { use: 'optional' });
    report(c, body as unknown as RefundView);
  });
}
