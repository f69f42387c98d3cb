import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { outcomeEventId, outcomesQuery } from '../domain/schemas/queries.js';
import { callApi, type CliContext } from './api.js';
import { checkedBy, decimal } from './flags.js';
import { print } from './output.js';

/** An outcome event as GET /v1/outcomes gives it, with its cursor. */
interface StreamEntry {
  cursor: string;
  event: { id: string; type: string; time: string; data: { refundId?: string; subscriptionId?: string; status?: string; error?: { code: string } } };
}

interface OutcomesOptions {
  after: number;
  limit: number;
  follow: boolean;
}

/** How often `outcomes --follow` asks for new events once it has read them all. */
const FOLLOW_EVERY_MS = 1_000;

/** "42  2026-12-06T10:00:00.000Z  refund.succeeded  RF-1001" (and the error code, when the refund has one). */
function outcomeLine({ cursor, event }: StreamEntry): string {
  const subject = event.data.refundId ?? event.data.subscriptionId ?? '?';
  const code = event.data.error?.code;
  return [cursor.padStart(6), event.time, event.type.padEnd(31), subject, ...(code !== undefined ? [code] : []), `(${event.id})`].join('  ');
}

export function outcomeCommands(program: Command, ctx: () => CliContext): void {
  const outcomes = program
    .command('outcomes')
    .description('the outcome events order management is told, in order, each with its cursor; --follow keeps printing new ones')
    .option('--after <cursor>', 'only the events after this cursor (one an earlier line printed)', checkedBy('--after', outcomesQuery.shape.after))
    .option('--limit <n>', 'events asked for at a time, 1-1000', checkedBy('--limit', outcomesQuery.shape.limit, decimal), 100)
    .option('--follow', 'once every event so far is printed, keep printing new ones as they are written (Ctrl-C stops)', false)
    .action(async (o: OutcomesOptions) => {
      const c = ctx();
      let after = o.after ?? 0;
      let shown = 0;
      // Ctrl-C ends a --follow where it is, saying where to go on from.
      const stop = new AbortController();
      const interrupted = () => stop.abort();
      if (o.follow) process.once('SIGINT', interrupted);
      while (!stop.signal.aborted) {
        const query = new URLSearchParams({ after: String(after), limit: String(o.limit) });
        const { body } = await callApi(c, 'GET', `/v1/outcomes?${query.toString()}`, { use: 'optional' });
        const entries = (body.outcomes ?? []) as StreamEntry[];
        for (const entry of entries) console.log(c.json ? JSON.stringify(entry) : outcomeLine(entry));
        shown += entries.length;
        after = Number(body.next ?? after);
        if (entries.length === o.limit) continue;
        if (!o.follow) break;
        await sleep(FOLLOW_EVERY_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      }
      process.off('SIGINT', interrupted);
      if (!c.json) {
        console.log(shown === 0 ? `no outcome events after cursor ${o.after ?? 0}` : `… read up to cursor ${after}: go on from there with --after ${after}`);
      }
    });

  outcomes
    .command('redeliver')
    .description('send one outcome event again to every configured destination, now (operator; audited)')
    .argument('<eventId>', 'the event, by its id', checkedBy('<eventId>', outcomeEventId))
    .action(async (eventId: string) => {
      const c = ctx();
      const { body } = await callApi(c, 'POST', `/v1/outcomes/${encodeURIComponent(eventId)}/redeliver`, { use: 'required' });
      const deliveries = (body.deliveries ?? []) as Array<{ destination: string; delivered: boolean }>;
      print(c, body, () => [`${eventId} sent again:`, ...deliveries.map((d) => `  ${d.destination}: delivered`)].join('\n'));
    });
}
