import { randomUUID } from 'node:crypto';
import { Option, type Command } from 'commander';
import { finalStatuses, type RefundStatus } from '../domain/refund-status.js';
import { Signer } from '../webhooks/signing.js';
import { callApi, type CliContext } from './api.js';
import { webhookSecret } from './credentials.js';
import { formatDuration, parseDuration } from './durations.js';
import { CliError, exitCodeHelp, exitCodeOfStatus, usageError } from './exit-codes.js';
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
      new Option('--timeout <duration>', `with --wait: give up after this long (90s, 15m, 1h, 2d), exit code 4 (default: ${formatDuration(DEFAULT_WAIT_MS)})`).argParser(
        parseDuration,
      ),
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

export function refundCommands(program: Command, ctx: () => CliContext): void {
  waitOptions(
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
      .option('--secret <whsec_…>', 'the webhook secret (default: INGEST_WEBHOOK_SECRET, or npm start’s development one)'),
  ).action(
    async (o: {
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
      timeout?: number;
    }) => {
      const c = ctx();
      const limit = waitLimit(o);
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
      const signer = new Signer(webhookSecret(o.secret));
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
    },
  );

  waitOptions(
    program
      .command('status')
      .description('one refund, as the ledger has it; the exit code says its status (below)')
      .argument('<refundId>'),
  ).action(async (refundId: string, o: { wait: boolean; timeout?: number }) => {
    const c = ctx();
    const limit = waitLimit(o);
    if (limit !== undefined) return report(c, await waitForEnd(c, refundId, limit));
    const { body } = await callApi(c, 'GET', refundPath(refundId), { use: 'optional' });
    report(c, body as unknown as RefundView);
  });
}
