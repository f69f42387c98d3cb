import type { Command } from 'commander';
import { z } from 'zod';
import { apiUrl, type CliContext } from './api.js';
import { bulkSummary, describeBulk, progressLine } from './bulk-report.js';
import { BulkFileError, readBulkFile, sendBulk, type BulkLine, type LineResult } from './bulk.js';
import { webhookSecret } from './credentials.js';
import { CliError, exitCodes } from './exit-codes.js';
import { checkedBy, decimal } from './flags.js';
import { print } from './output.js';

// The sender's own limits (the API has no say in them).
const concurrencySchema = z
  .number({ error: 'must be a number' })
  .int('must be a whole number from 1 to 64')
  .min(1, 'must be a whole number from 1 to 64')
  .max(64, 'must be a whole number from 1 to 64');
const rateSchema = z.number({ error: 'must be a number' }).positive('must be a positive number of events per second');

export function bulkCommand(program: Command, ctx: () => CliContext): void {
  program
    .command('bulk')
    .description('send one refund.requested or order.cancelled event per line of a .csv or .jsonl file (docs/bulk.md); safe to interrupt and run again')
    .argument('<file>', 'a .csv file with a header row, or a .jsonl file with one JSON object per line')
    .option('--secret <whsec_…>', 'the webhook secret (default: INGEST_WEBHOOK_SECRET, or npm start’s development one)')
    .option('--concurrency <n>', 'events in flight at once, 1-64', checkedBy('--concurrency', concurrencySchema, decimal), 8)
    .option('--rate <events/s>', 'send at most this many events per second (default: as fast as the API answers)', checkedBy('--rate', rateSchema, decimal))
    .action(async (file: string, o: { secret?: string; concurrency: number; rate?: number }) => {
      const c = ctx();
      const api = apiUrl(c);
      const { concurrency, rate } = o;
      const secret = webhookSecret(o.secret);
      let lines: BulkLine[];
      try {
        lines = readBulkFile(file);
      } catch (err) {
        if (err instanceof BulkFileError) throw new CliError(err.message);
        throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const stop = new AbortController();
      const onInterrupt = () => {
        if (stop.signal.aborted) process.exit(exitCodes.interrupted.code);
        stop.abort();
        process.stderr.write('\ninterrupted: events under way finish, the rest are not sent (Ctrl-C again to quit at once)\n');
      };
      process.on('SIGINT', onInterrupt);
      const progress = progressLine(lines.length);
      const started = Date.now();
      let results: LineResult[];
      try {
        results = await sendBulk(lines, {
          apiUrl: api,
          secret,
          concurrency,
          ...(rate !== undefined && { rate }),
          signal: stop.signal,
          onProgress: progress.update,
        });
      } finally {
        progress.end();
        process.off('SIGINT', onInterrupt);
      }
      const summary = bulkSummary(file, results, (Date.now() - started) / 1000, stop.signal.aborted);
      print(c, summary, () => describeBulk(summary));
      process.exitCode = (stop.signal.aborted ? exitCodes.interrupted : summary.rejected + summary.notSent > 0 ? exitCodes.refused : exitCodes.ok).code;
    });
}
