import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bulkEventId, parseCsvText, parseJsonl } from '../src/cli/bulk.js';
import type { BulkSummary } from '../src/cli/bulk-report.js';
import { randomHid } from '../src/providers/oen/hid.js';
import { useApi } from './helpers/api.js';
import { useEngine } from './helpers/engine.js';
import { freePorts } from './helpers/ports.js';
import { admin, sandboxRefunds } from './helpers/sandbox.js';

const engine = useEngine('bulk');
const api = useApi(engine);
const dir = mkdtempSync(join(tmpdir(), 'refundflow-bulk-'));

describe('bulk files', () => {
  it('a line always gives the same event id, whatever the order of its fields; another line another id', () => {
    const a = parseJsonl('{"refundId":"RF-1","provider":"mwd","orderId":"O1","amount":5,"cardToken":"t"}');
    const b = parseJsonl('{"cardToken":"t","amount":5,"orderId":"O1","provider":"mwd","refundId":"RF-1","type":"refund.requested"}');
    const c = parseCsvText('refundId,provider,orderId,amount,cardToken\nRF-1,mwd,O1,5,t\n');
    const d = parseJsonl('{"refundId":"RF-1","provider":"mwd","orderId":"O1","amount":6,"cardToken":"t"}');
    const id = (lines: ReturnType<typeof parseJsonl>) => (lines[0]?.kind === 'event' ? lines[0].eventId : undefined);
    expect(id(a)).toMatch(/^bulk_[0-9a-f]{40}$/);
    expect(id(b)).toBe(id(a));
    expect(id(c)).toBe(id(a));
    expect(id(d)).not.toBe(id(a));
    expect(bulkEventId('order.cancelled', { orderId: 'O1', provider: 'oen' })).not.toBe(bulkEventId('refund.requested', { orderId: 'O1', provider: 'oen' }));
  });

  it('names each bad line by its number and says what is wrong; the good lines become events', () => {
    const csv = parseCsvText(
      [
        'refundId,provider,orderId,transactionHid,amount,reason',
        'RF-1,oen,ORDER1,P20240412AAAA0001,1000,客戶取消',
        'RF-2,oen,ORDER2,P20240412AAAA0002,abc,',
        'RF-3,oen,ORDER3,P20240412AAAA0003',
        'RF-4,mwd,ORDER4,,550,',
        'RF-5,oen,"ORDER5,P2024,1000,',
      ].join('\n'),
    );
    expect(csv.map((l) => (l.kind === 'bad' ? [l.line, l.problem] : [l.line, 'ok']))).toEqual([
      [2, 'ok'],
      [3, 'amount must be a number'],
      [4, expect.stringMatching(/^not a CSV row of 6 columns: .*got 4 on line 4/)],
      [5, expect.stringMatching(/cardToken/)],
      [6, expect.stringMatching(/^not a CSV row of 6 columns: Quote Not Closed/)],
    ]);
    expect(() => parseCsvText('refundId,amount,colour\nRF-1,5,red\n')).toThrow(/line 1: unknown column colour/);

    const jsonl = parseJsonl(['{"type":"order.cancelled","provider":"oen","orderId":"O1"}', 'not json', '', '[1]', '{"type":"refund.failed"}'].join('\n'));
    expect(jsonl.map((l) => (l.kind === 'bad' ? [l.line, l.problem] : [l.line, l.type]))).toEqual([
      [1, 'order.cancelled'],
      [2, expect.stringMatching(/^not JSON/)],
      [4, 'must be a JSON object (one event per line)'],
      [5, 'type must be refund.requested or order.cancelled (got "refund.failed")'],
    ]);
  });
});

/** `npx refundflow bulk`, as a user runs it, in its own process. */
function bulk(file: string, args: string[] = []) {
  const child = spawn(process.execPath, ['bin/refundflow.mjs', '--json', 'bulk', file, ...args], {
    env: { ...process.env, REFUNDFLOW_API_URL: api().url, INGEST_WEBHOOK_SECRET: api().secret },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : -1))));
  return {
    child,
    stderr: () => stderr,
    done: async () => ({ code: await exited, summary: JSON.parse(stdout) as BulkSummary, stderr }),
  };
}

/** `count` refunds, half Oen card transactions and half MWD orders, seeded at the emulators; as CSV rows. */
async function seededRows(count: number, tag: string): Promise<{ rows: string[]; references: string[] }> {
  const rows: string[] = [];
  const references: string[] = [];
  const oen: Array<{ id: string; orderId: string; amount: number }> = [];
  const mwd: Array<{ orderId: string; cardToken: string; amount: number }> = [];
  for (let i = 0; i < count; i += 1) {
    const orderId = `BULK-${tag}-${i}`;
    if (i % 2 === 0) {
      const hid = randomHid();
      oen.push({ id: hid, orderId, amount: 1000 });
      rows.push(`RF-${tag}-${i},oen,${orderId},${hid},1000,,bulk refund`);
      references.push(hid);
    } else {
      mwd.push({ orderId, cardToken: `tok-${orderId}`, amount: 550 });
      rows.push(`RF-${tag}-${i},mwd,${orderId},,550,tok-${orderId},bulk refund`);
      references.push(orderId);
    }
  }
  await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { transactions: oen });
  await admin(engine().sandboxes.mwdUrl, 'POST', 'seed', { orders: mwd });
  return { rows, references };
}

const CSV_HEADER = 'refundId,provider,orderId,transactionHid,amount,cardToken,reason';

async function refundsAtSandbox(references: string[]): Promise<Map<string, number>> {
  const wanted = new Set(references);
  const all = [...(await sandboxRefunds(engine().sandboxes.oenUrl)), ...(await sandboxRefunds(engine().sandboxes.mwdUrl))];
  const counts = new Map<string, number>();
  for (const r of all) if (wanted.has(r.reference)) counts.set(r.reference, (counts.get(r.reference) ?? 0) + 1);
  return counts;
}

describe('npx refundflow bulk', () => {
  it('a 500-line file interrupted halfway and run again gives exactly 500 refunds', async () => {
    const tag = randomUUID().slice(0, 8);
    const { rows, references } = await seededRows(500, tag);
    const file = join(dir, `campaign-${tag}.csv`);
    writeFileSync(file, `${CSV_HEADER}\n${rows.join('\n')}\n`);

    // Paced so it can be interrupted halfway: Ctrl-C once about 200 lines are answered.
    const first = bulk(file, ['--rate', '50', '--concurrency', '4']);
    await expect
      .poll(() => /(\d+)\/500/.exec(first.stderr().split('\n').filter(Boolean).at(-1) ?? '')?.[1] ?? '0', { timeout: 30_000 })
      .toSatisfy((done: string) => Number(done) >= 200);
    first.child.kill('SIGINT');
    const stopped = await first.done();
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/interrupted: events under way finish/);
    expect(stopped.summary).toMatchObject({ lines: 500, interrupted: true, rejected: 0, duplicate: 0 });
    expect(stopped.summary.accepted).toBeGreaterThanOrEqual(200);
    expect(stopped.summary.accepted).toBeLessThan(500);
    expect(stopped.summary.accepted + stopped.summary.notSent).toBe(500);
    expect(stopped.summary.problems.every((p) => p.outcome === 'not_sent' && /run the file again/.test(p.reason))).toBe(true);

    const again = await bulk(file, ['--concurrency', '8']).done();
    expect(again.code).toBe(0);
    expect(again.summary).toMatchObject({
      lines: 500,
      interrupted: false,
      rejected: 0,
      notSent: 0,
      accepted: stopped.summary.notSent,
      duplicate: stopped.summary.accepted,
    });
    expect(again.stderr).toMatch(/500\/500 100% · [\d.]+ events\/s · accepted \d+, duplicate \d+, rejected 0/);

    // Every refund done, each exactly once at its provider. 500 refunds through one worker, the
    // emulators and a PGlite ledger in this process, beside another test file: under that load an
    // Oen call can time out (2 s) and wait its backoff, so the deadline is the engine's pace, not a bound.
    await expect
      .poll(
        async () =>
          (await engine().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM refunds WHERE refund_id LIKE $1 AND status = 'succeeded'`, [`RF-${tag}-%`]))
            .rows[0]?.n,
        {
          timeout: 300_000,
          interval: 1_000,
        },
      )
      .toBe(500);
    const counts = await refundsAtSandbox(references);
    expect(counts.size).toBe(500);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
  }, 420_000);

  it('rejects malformed lines by their numbers and sends the rest; a line given twice is sent once', async () => {
    const tag = randomUUID().slice(0, 8);
    const { rows, references } = await seededRows(4, tag);
    const file = join(dir, `mixed-${tag}.jsonl`);
    const asJson = (row: string) => {
      const [refundId, provider, orderId, transactionHid, amount, cardToken, reason] = row.split(',');
      return JSON.stringify({ refundId, provider, orderId, amount: Number(amount), reason, ...(provider === 'oen' ? { transactionHid } : { cardToken }) });
    };
    const lines = [
      asJson(rows[0] ?? ''),
      '{"refundId":"RF-bad","provider":"oen","orderId":"X","amount":1000',
      asJson(rows[1] ?? ''),
      JSON.stringify({ refundId: `RF-${tag}-neg`, provider: 'mwd', orderId: 'X', amount: -5, cardToken: 't' }),
      asJson(rows[2] ?? ''),
      asJson(rows[0] ?? ''),
      JSON.stringify({ type: 'refund.cancelled', refundId: 'RF-x' }),
      asJson(rows[3] ?? ''),
    ];
    writeFileSync(file, `${lines.join('\n')}\n`);

    const run = await bulk(file).done();
    expect(run.code).toBe(1);
    expect(run.summary).toMatchObject({ lines: 8, accepted: 4, duplicate: 1, rejected: 3, notSent: 0 });
    expect(run.summary.problems.map((p) => [p.line, p.outcome])).toEqual([
      [2, 'rejected'],
      [4, 'rejected'],
      [7, 'rejected'],
    ]);
    const [notJson, negative, badType] = run.summary.problems.map((p) => p.reason);
    expect(notJson).toMatch(/^not JSON/);
    expect(negative).toBe('amount must be a positive number of NT$');
    expect(badType).toMatch(/^type must be refund.requested or order.cancelled/);
    await expect
      .poll(
        async () =>
          (await engine().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM refunds WHERE refund_id LIKE $1 AND status = 'succeeded'`, [`RF-${tag}-%`]))
            .rows[0]?.n,
        {
          timeout: 60_000,
        },
      )
      .toBe(4);
    const again = await bulk(file).done();
    expect(again.summary).toMatchObject({ accepted: 0, duplicate: 5, rejected: 3 });
    const counts = await refundsAtSandbox(references);
    expect([...counts.values()]).toEqual([1, 1, 1, 1]);
  }, 120_000);

  it('an API that does not answer: the first line is tried for a while, the rest wait for the next run', async () => {
    const file = join(dir, `away-${randomUUID().slice(0, 8)}.jsonl`);
    const lines = [1, 2, 3].map((n) => JSON.stringify({ refundId: `RF-away-${n}`, provider: 'mwd', orderId: `O${n}`, amount: 5, cardToken: 't' }));
    writeFileSync(file, `${lines.join('\n')}\n`);
    const [closed] = await freePorts(1); // nothing listens there
    const child = spawn(process.execPath, ['bin/refundflow.mjs', '--json', '--api', `http://127.0.0.1:${closed}`, 'bulk', file, '--concurrency', '1'], {
      env: { ...process.env, INGEST_WEBHOOK_SECRET: api().secret },
    });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
    const summary = JSON.parse(stdout) as BulkSummary;
    expect(code).toBe(1);
    expect(summary).toMatchObject({ lines: 3, accepted: 0, notSent: 3 });
    expect(summary.problems[0]?.reason).toMatch(/^the API did not answer \(ECONNREFUSED\); run the file again to send it$/);
    expect(summary.problems[1]?.reason).toMatch(/^not tried: the API did not answer \(ECONNREFUSED\) for an earlier line; run the file again/);
  }, 60_000);

  it('says plainly when the file cannot be read', async () => {
    const missing = await new Promise<{ code: number; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['bin/refundflow.mjs', 'bulk', join(dir, 'nope.csv')], {
        env: { ...process.env, INGEST_WEBHOOK_SECRET: api().secret },
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
      child.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read .*nope\.csv: ENOENT/);
  });
});
