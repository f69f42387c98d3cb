import { Option, type Command } from 'commander';
import { refundStatuses } from '../domain/refund-status.js';
import { listQuery } from '../domain/schemas/queries.js';
import { callApi, type CliContext } from './api.js';
import { durationFlag, formatDuration } from './durations.js';
import { checkedBy, decimal, oneOf } from './flags.js';
import { listHeader, print, refundLine, type RefundView } from './output.js';
import { webUiViewLines } from './web-ui-links.js';

interface ListOptions {
  order?: string;
  status?: string;
  olderThan?: number;
  limit: number;
  cursor?: string;
  all: boolean;
}

/** "for order O in status S last updated more than 1h ago": the filters, for the empty answer. */
function describeFilter(o: ListOptions): string {
  return [
    ...(o.order !== undefined ? [` for order ${o.order}`] : []),
    ...(o.status !== undefined ? [` in status ${o.status}`] : []),
    ...(o.olderThan !== undefined ? [` last updated more than ${formatDuration(o.olderThan)} ago`] : []),
  ].join('');
}

export function listCommand(program: Command, ctx: () => CliContext): void {
  program
    .command('list')
    .description('refunds, newest first: all orders, or one; a page at a time (--cursor), or every page (--all)')
    .option('--order <orderId>', 'only this order', checkedBy('--order', listQuery.shape.orderId))
    .addOption(new Option('--status <status>', 'only refunds in this status').choices(refundStatuses).argParser(oneOf('--status', refundStatuses)))
    .addOption(
      new Option('--older-than <duration>', 'only refunds last updated longer ago than this (90s, 15m, 1h, 2d), by this machine’s clock').argParser(
        durationFlag('--older-than'),
      ),
    )
    .option('--limit <n>', 'refunds per page, 1-200', checkedBy('--limit', listQuery.shape.limit, decimal), 50)
    .option('--cursor <cursor>', 'start at this page: the cursor the previous page printed', checkedBy('--cursor', listQuery.shape.cursor))
    .option('--all', 'follow the pages to the end, printing each as it comes (with --json: one refund per line)', false)
    .action(async (o: ListOptions) => {
      const c = ctx();
      // One line for every page: "older than 1h" is measured once, from when the command started.
      const updatedBefore = o.olderThan === undefined ? undefined : new Date(Date.now() - o.olderThan).toISOString();
      const filter = {
        ...(o.order !== undefined && { orderId: o.order }),
        ...(o.status !== undefined && { status: o.status }),
        ...(updatedBefore !== undefined && { updatedBefore }),
        limit: String(o.limit),
      };
      let cursor = o.cursor;
      let shown = 0;
      // With --all, the Web UI links come after the last page: one refund of each status seen is enough.
      const seen = new Map<string, RefundView>();
      do {
        const query = new URLSearchParams({ ...filter, ...(cursor !== undefined && { cursor }) });
        const { body } = await callApi(c, 'GET', `/v1/refunds?${query.toString()}`, { use: 'optional' });
        const refunds = (body.refunds ?? []) as RefundView[];
        const next = typeof body.next === 'string' ? body.next : undefined;
        shown += refunds.length;
        if (!o.all) {
          print(c, body, () =>
            [
              ...(refunds.length === 0 ? [`no refunds${describeFilter(o)}`] : [listHeader(), ...refunds.map(refundLine)]),
              ...webUiViewLines(refunds),
              ...(next !== undefined ? [`… more: the next page is --cursor ${next} (or --all for every page)`] : []),
            ].join('\n'),
          );
          return;
        }
        if (!c.json && shown === refunds.length && refunds.length > 0) console.log(listHeader());
        for (const refund of refunds) console.log(c.json ? JSON.stringify(refund) : refundLine(refund));
        for (const refund of refunds) if (!seen.has(refund.status)) seen.set(refund.status, refund);
        cursor = next;
      } while (cursor !== undefined);
      if (shown === 0 && !c.json) console.log(`no refunds${describeFilter(o)}`);
      if (!c.json) for (const line of webUiViewLines([...seen.values()])) console.log(line);
    });
}
