import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exitCodes } from '../src/cli/exit-codes.js';
import { loadConfig } from '../src/config.js';
import { randomHid } from '../src/providers/oen/hid.js';
import { useApi } from './helpers/api.js';
import { useCli } from './helpers/cli.js';
import { postgresAvailable, usePostgresLedger } from './helpers/databases.js';
import { useEngine } from './helpers/engine.js';
import { admin, seededMwdRefund } from './helpers/sandbox.js';

/** The operator's commands as processes against the real API: keys, the audit trail, resolve, signing-key. */
const engine = useEngine('cli-operators');
const api = useApi(engine, { workerEnv: { APPROVAL_THRESHOLD: '5000', DUAL_APPROVAL_THRESHOLD: '8000' } });
const cli = useCli(api);
const pg = await postgresAvailable();
const as = (role: 'viewer' | 'operator' | 'approver' | 'approver2' | 'admin' | 'admin2') => ({ OPERATOR_TOKEN: undefined, REFUNDFLOW_TOKEN: api().keys[role] });

describe('refundflow operator', () => {
  it('add grants a key (four eyes on: a second admin confirms it and is shown it once) that works at once; list never shows it; revoke refuses it from then on; a viewer or approver may do none of it', async () => {
    const name = `ann-${randomUUID().slice(0, 6)}`;
    const added = await cli(['operator', 'add', name, '--role', 'viewer', '--person', 'ann'], { env: as('admin') });
    expect(added).toMatchObject({
      code: 0,
      stdout: `granted ${name} (viewer) to ann; a second admin confirms it (npx refundflow operator confirm ${name}) and is shown the key\n`,
    });
    expect((await cli(['operator', 'confirm', name], { env: as('admin') })).stderr).toMatch(`409: admin-`);
    const confirmed = await cli(['operator', 'confirm', name], { env: as('admin2') });
    expect(confirmed.code).toBe(0);
    const key = /^ {2}(rf_\S+)$/m.exec(confirmed.stdout)?.[1];
    expect(key).toMatch(/^rf_[0-9a-f]{12}_/);
    expect((await cli(['list', '--status', 'succeeded'], { env: { OPERATOR_TOKEN: undefined, REFUNDFLOW_TOKEN: key } })).code).toBe(0);

    const listed = await cli(['operator', 'list'], { env: as('admin') });
    expect(listed.stdout).toMatch(new RegExp(`^${name} +viewer +ann +rf_[0-9a-f]{12}_… .*, confirmed by key:admin2-\\w+; live$`, 'm'));
    expect(listed.stdout).not.toContain(String(key).slice(16));

    expect(await cli(['operator', 'add', 'mallory', '--role', 'approver'], { env: as('viewer') })).toMatchObject({
      code: exitCodes.refused.code,
      stderr: expect.stringMatching(/^403: viewer-\w+ is viewer; POST \/v1\/operators needs the admin role/) as unknown,
    });
    expect((await cli(['operator', 'add', 'mallory', '--role', 'approver'], { env: as('approver') })).stderr).toMatch(
      /^403: approver-\w+ is approver; POST \/v1\/operators needs the admin role/,
    );
    expect((await cli(['operator', 'add', 'x', '--role', 'king'], { env: as('admin') })).code).toBe(exitCodes.usage.code);

    expect((await cli(['operator', 'revoke', name], { env: as('admin') })).stdout).toMatch(`revoked the key of ${name} (viewer)`);
    const refused = await cli(['list', '--status', 'succeeded'], { env: { OPERATOR_TOKEN: undefined, REFUNDFLOW_TOKEN: key } });
    expect(refused).toMatchObject({
      code: exitCodes.refused.code,
      stderr: expect.stringMatching(/^401: the API key is not a live key of this engine \(unknown or revoked\)/) as unknown,
    });

    const all = JSON.parse((await cli(['audit', '--all', '--json'], { env: as('viewer') })).stdout) as {
      entries: Array<{ action: string; outcome: string; detail?: { name?: string } }>;
    };
    const mine = all.entries.filter((e) => e.action.startsWith('operator.'));
    expect(mine.map((e) => [e.action, e.outcome])).toEqual(
      expect.arrayContaining([
        ['operator.add', 'attempted'],
        ['operator.add', 'done'],
        ['operator.confirm', 'refused'],
        ['operator.confirm', 'done'],
        ['operator.add', 'refused'],
        ['operator.revoke', 'attempted'],
        ['operator.revoke', 'done'],
      ]),
    );
  });

  const ledger = usePostgresLedger(pg);
  it.runIf(pg)("add --database-url makes a deployment's first key straight in the PostgreSQL ledger, audited as the machine's user", async () => {
    const made = await cli(['operator', 'add', 'first-admin', '--role', 'admin', '--database-url', ledger().url, '--json'], {
      env: { OPERATOR_TOKEN: undefined },
    });
    expect(made.code).toBe(0);
    const answer = JSON.parse(made.stdout) as { name: string; role: string; key: string };
    expect(answer).toMatchObject({ name: 'first-admin', role: 'admin', person: 'first-admin', key: expect.stringMatching(/^rf_/) as unknown });
    const { rows } = await ledger().db.query<{ actor_id: string; action: string; outcome: string }>(
      'SELECT actor_id, action, outcome FROM operator_audit ORDER BY id',
    );
    expect(rows).toEqual([
      { actor_id: expect.stringMatching(/^cli:/) as unknown, action: 'operator.add', outcome: 'attempted' },
      { actor_id: expect.stringMatching(/^cli:/) as unknown, action: 'operator.add', outcome: 'done' },
    ]);
    expect((await cli(['operator', 'list', '--database-url', ledger().url])).stdout).toMatch(/^first-admin +admin +first-admin /m);
  });
});

describe('refundflow approve with four eyes, audit, resolve, signing-key', () => {
  it('two approvers: the first is told another is needed; the audit trail shows both', async () => {
    const { orderId, transactionHid } = await seeded(8000);
    const refundId = `RF-${randomUUID().slice(0, 8)}`;
    expect((await cli(['refund', '--order', orderId, '--transaction', transactionHid, '--amount', '8000', '--refund-id', refundId])).code).toBe(0);
    await expect.poll(async () => (await api().request('GET', `/v1/refunds/${refundId}`)).body.status, { timeout: 30_000 }).toBe('awaiting_approval');
    expect((await cli(['approve', refundId, '--reason', 'customer called'], { env: as('approver') })).stdout).toBe(
      `approve: refund ${refundId} has 1 of 2 approvals; it needs an approver who is another person\n`,
    );
    expect((await cli(['approve', refundId], { env: as('operator') })).code).toBe(exitCodes.refused.code);
    expect((await cli(['approve', refundId], { env: as('approver2') })).stdout).toMatch(
      new RegExp(`^approve: refund ${refundId} is now (submitting|succeeded)`),
    );
    const trail = await cli(['audit', '--refund', refundId], { env: as('viewer') });
    expect(
      trail.stdout
        .trim()
        .split('\n')
        .map((line) => line.split(/ +/).slice(1, 3)),
    ).toEqual([
      ['attempted', 'approve'],
      ['done', 'approve'],
      ['refused', 'approve'],
      ['attempted', 'approve'],
      ['done', 'approve'],
    ]);
    expect(trail.stdout).toMatch(/: customer called$/m);
  });

  it("resolve settles an MWD refund on an approver's word with evidence; without --evidence it is a usage error", async () => {
    const request = await seededMwdRefund(engine().sandboxes.mwdUrl);
    await admin(engine().sandboxes.mwdUrl, 'PUT', 'faults', { [`refund@${request.orderId}`]: { next: ['gateway504AfterCommit'] } });
    const sent = await cli([
      'refund',
      '--provider',
      'mwd',
      '--order',
      request.orderId,
      '--card-token',
      request.cardToken,
      '--amount',
      '550',
      '--refund-id',
      request.refundId,
      '--wait',
    ]);
    expect(sent.code).toBe(exitCodes.requiresAttention.code);
    expect((await cli(['resolve', request.refundId, 'succeeded', '--reference', 'MWD-1'], { env: as('approver') })).code).toBe(exitCodes.usage.code);
    const resolved = await cli(['resolve', request.refundId, 'succeeded', '--reference', 'MWD-1', '--evidence', 'MWD portal shows the refund'], {
      env: as('approver'),
    });
    expect(resolved).toMatchObject({ code: 0, stdout: `resolved: refund ${request.refundId} is now succeeded\n` });
    expect((await cli(['status', request.refundId], { env: as('viewer') })).code).toBe(0);
  });

  it('signing-key prints a pair the configuration takes', async () => {
    const out = await cli(['signing-key']);
    const signing = /^OPERATOR_SIGNING_KEY=(\w+)$/m.exec(out.stdout)?.[1];
    const verify = /^OPERATOR_VERIFY_KEYS=(\w+)$/m.exec(out.stdout)?.[1];
    expect(loadConfig({ OPERATOR_SIGNING_KEY: signing, OPERATOR_VERIFY_KEYS: verify })).toMatchObject({
      OPERATOR_SIGNING_KEY: signing,
      OPERATOR_VERIFY_KEYS: [verify],
    });
  });
});

async function seeded(amount: number) {
  const transactionHid = randomHid();
  const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
  await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: transactionHid, orderId, amount }] });
  return { orderId, transactionHid };
}
