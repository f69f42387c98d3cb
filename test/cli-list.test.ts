import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exitCodes } from '../src/cli/exit-codes.js';
import { workflowListUiUrl } from '../src/domain/ui.js';
import { useApi } from './helpers/api.js';
import { useCli } from './helpers/cli.js';
import { useEngine } from './helpers/engine.js';

const engine = useEngine('cli-list');
const api = useApi(engine);
const cli = useCli(api);

/** Refunds left for a person in `orderId`, written as the engine writes them; newest last. */
async function leftForPerson(orderId: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const refundId = `RF-${randomUUID().slice(0, 8)}`;
    await engine().ledger.recordForPerson({ refundId, provider: 'mwd', orderId, amount: 10 + i, cardToken: 't' }, `mwd-refund-${refundId}`, {
      code: 'MwdOutcomeUnknown',
      message: 'no answer',
    });
    ids.push(refundId);
  }
  // Newest first is by creation time: one second apart, so that the order never rests on two
  // inserts landing in the same clock tick (PGlite's can be that coarse).
  for (const [i, refundId] of ids.entries()) {
    await engine().db.query(`UPDATE refunds SET created_at = now() - make_interval(secs => $2) WHERE refund_id = $1`, [refundId, count - i]);
  }
  return ids;
}

/** The refund ids of `list`'s lines, in order. */
const listed = (stdout: string) => [...stdout.matchAll(/^(RF-\S+) /gm)].map((m) => m[1]);

describe('refundflow list', () => {
  it('--status requires_attention across every order, --all following the pages to the end', async () => {
    const first = await leftForPerson(`ORDER-${randomUUID().slice(0, 8)}`, 2);
    const second = await leftForPerson(`ORDER-${randomUUID().slice(0, 8)}`, 1);
    const { rows } = await engine().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM refunds WHERE status = 'requires_attention'`);
    const total = rows[0]?.n ?? 0;

    const all = await cli(['list', '--status', 'requires_attention', '--all', '--limit', '1']);
    expect(all).toMatchObject({ code: 0, stderr: '' });
    // One header row, however many pages, then one line per refund with its provider; after the last
    // page, the Web UI's list of every refund in requires_attention (the API's Web UI, namespace default).
    const [header, ...lines] = all.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REFUND +STATUS +PROVIDER +AMOUNT +UPDATED +ORDER +ERROR$/);
    expect(lines.pop()).toBe(
      `Web UI, every refund in requires_attention ("Needs a person"): ${workflowListUiUrl('http://localhost:8233', 'default', 'RefundStatus="requires_attention"')}`,
    );
    expect(lines).toHaveLength(total);
    for (const line of lines) expect(line).toMatch(/^RF-\S+ +requires_attention +mwd +NT\$\d+ +\S+ +ORDER-\S+ +MwdOutcomeUnknown$/);
    // The columns line up under the header.
    const at = (line: string, title: string) => line.indexOf(title);
    expect(lines[0]?.indexOf('mwd')).toBe(at(header ?? '', 'PROVIDER'));
    // Newest first, both orders.
    expect(listed(all.stdout).slice(0, 3)).toEqual([second[0], first[1], first[0]]);

    // With --json: one refund per line, as the API gives it.
    const json = await cli(['--json', 'list', '--status', 'requires_attention', '--all', '--limit', '2']);
    const refunds = json.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { refundId: string; status: string; uiUrl: string });
    expect(refunds.map((r) => r.refundId)).toEqual(listed(all.stdout));
    expect(refunds[0]).toMatchObject({
      status: 'requires_attention',
      error: { code: 'MwdOutcomeUnknown' },
      uiUrl: expect.stringContaining('mwd-refund-') as unknown,
    });
  });

  it('one page at a time: each page prints the cursor of the next, and --cursor continues from it', async () => {
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    const ids = (await leftForPerson(orderId, 3)).reverse();
    const page = await cli(['list', '--order', orderId, '--limit', '2']);
    expect(listed(page.stdout)).toEqual(ids.slice(0, 2));
    const cursor = /^… more: the next page is --cursor (\S+) \(or --all for every page\)$/m.exec(page.stdout)?.[1];
    expect(cursor).toEqual(expect.any(String));

    const rest = await cli(['list', '--order', orderId, '--limit', '2', '--cursor', cursor ?? '']);
    expect(listed(rest.stdout)).toEqual(ids.slice(2));
    expect(rest.stdout).not.toContain('more:');

    const json = JSON.parse((await cli(['--json', 'list', '--order', orderId, '--limit', '2'])).stdout) as { refunds: unknown[]; next: string };
    expect(json).toMatchObject({ refunds: [{ refundId: ids[0] }, { refundId: ids[1] }], next: cursor });

    expect((await cli(['list', '--order', orderId, '--cursor', 'garbage'])).code).toBe(exitCodes.refused.code);
  });

  it('--older-than: refunds whose last update is older than that', async () => {
    const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
    const [old, older, fresh] = await leftForPerson(orderId, 3);
    await engine().db.query(`UPDATE refunds SET updated_at = now() - interval '2 hours' WHERE refund_id = $1`, [old]);
    await engine().db.query(`UPDATE refunds SET updated_at = now() - interval '2 days' WHERE refund_id = $1`, [older]);

    expect(listed((await cli(['list', '--order', orderId, '--older-than', '1h'])).stdout)).toEqual([older, old]);
    expect(listed((await cli(['list', '--order', orderId, '--older-than', '1h', '--all', '--limit', '1'])).stdout)).toEqual([older, old]);
    expect(listed((await cli(['list', '--order', orderId, '--older-than', '1d12h'])).stdout)).toEqual([older]);
    expect(listed((await cli(['list', '--order', orderId])).stdout)).toEqual([fresh, older, old]);
    expect(await cli(['list', '--order', orderId, '--older-than', '3d'])).toMatchObject({
      code: 0,
      stdout: `no refunds for order ${orderId} last updated more than 3d ago\n`,
    });
    expect(await cli(['list', '--order', orderId, '--status', 'succeeded', '--older-than', '90m', '--all'])).toMatchObject({
      code: 0,
      stdout: `no refunds for order ${orderId} in status succeeded last updated more than 1h30m ago\n`,
    });
  });
});
