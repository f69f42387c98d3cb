import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutcomeReceiver } from './chaos/processes.js';
import { OPERATOR_TOKEN, newWebhookSecret, useApi } from './helpers/api.js';
import { useCli } from './helpers/cli.js';
import { outcomesDelivered, useEngine } from './helpers/engine.js';

const engine = useEngine('cli-outcomes');
const secret = newWebhookSecret();
const receiver = new OutcomeReceiver(secret, 0, Math.random);
beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await receiver.close();
});
const api = useApi(engine, { outcomes: () => ({ url: receiver.url, secret }) });
const cli = useCli(api);

/** A refund the ledger keeps for a person: its refund.requires_attention event is written with it. */
async function leftForPerson(): Promise<string> {
  const refundId = `RF-${randomUUID().slice(0, 8)}`;
  await engine().ledger.recordForPerson({ refundId, provider: 'mwd', orderId: `MWD-${refundId}`, amount: 550, cardToken: 't' }, `mwd-refund-${refundId}`, {
    code: 'MwdOutcomeUnknown',
    message: 'no answer',
  });
  return refundId;
}

/** The refund ids of the event lines printed, in order. */
const printed = (stdout: string) => [...stdout.matchAll(/^\s*\d+ {2}\S+ {2}refund\.requires_attention\s+(RF-\S+) {2}MwdOutcomeUnknown/gm)].map((m) => m[1]);

describe('refundflow outcomes', () => {
  it('prints every outcome event in order with its cursor, a page at a time; --after goes on from a cursor; --json one event per line', async () => {
    const ids = [await leftForPerson(), await leftForPerson(), await leftForPerson()];
    const all = await cli(['outcomes', '--limit', '2']);
    expect(all.code).toBe(0);
    expect(printed(all.stdout).slice(-3)).toEqual(ids);
    const last = /go on from there with --after (\d+)$/m.exec(all.stdout)?.[1];
    expect(last).toMatch(/^\d+$/);
    const cursorOf = (refundId: string) => new RegExp(`^\\s*(\\d+) {2}.*${refundId}`, 'm').exec(all.stdout)?.[1] ?? '';
    const after = await cli(['outcomes', '--after', cursorOf(ids[0]!)]);
    expect(printed(after.stdout)).toEqual(ids.slice(1));
    expect((await cli(['outcomes', '--after', last!])).stdout.trim()).toBe(`no outcome events after cursor ${last}`);
    const json = await cli(['--json', 'outcomes', '--after', cursorOf(ids[1]!)]);
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { event: { data: { refundId: string } } }).event.data.refundId),
    ).toEqual([ids[2]]);
  });

  it('--follow prints events written after it started, until Ctrl-C, then where to go on from', async () => {
    const child = spawn(process.execPath, ['bin/refundflow.mjs', 'outcomes', '--follow'], {
      env: { ...process.env, REFUNDFLOW_API_URL: api().url, OPERATOR_TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const before = await leftForPerson();
      await expect.poll(() => printed(stdout), { timeout: 30_000, interval: 100 }).toContain(before);
      const later = await leftForPerson();
      await expect.poll(() => printed(stdout), { timeout: 30_000, interval: 100 }).toContain(later);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stdout).toMatch(/… read up to cursor (\d+): go on from there with --after \1\n$/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('outcomes redeliver sends one event again to the webhook; an unknown id is refused, naming it', async () => {
    const refundId = await leftForPerson();
    await outcomesDelivered(engine().db);
    const eventId = receiver.deliveries.find((d) => d.refundId === refundId)!.id;
    const again = await cli(['outcomes', 'redeliver', eventId]);
    expect(again).toEqual({ code: 0, stdout: `${eventId} sent again:\n  webhook: delivered\n`, stderr: '' });
    expect(receiver.deliveries.filter((d) => d.id === eventId)).toHaveLength(2);
    const unknown = await cli(['outcomes', 'redeliver', 'RF-nope.succeeded.1']);
    expect(unknown).toMatchObject({ code: 1, stderr: '404: no outcome event RF-nope.succeeded.1\n' });
  });
});
