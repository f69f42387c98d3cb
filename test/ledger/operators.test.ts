import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeys, KeyNameTaken } from '../../src/ledger/api-keys.js';
import { AuditTrail, AuditUnavailable } from '../../src/ledger/audit.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate, migrations } from '../../src/ledger/migrations.js';
import { freshDatabase, postgresAvailable, type DatabaseKind } from '../helpers/databases.js';

const kinds: DatabaseKind[] = (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];

describe.each(kinds)('named API keys and the audit trail on %s', (kind) => {
  let db: Database;
  let keys: ApiKeys;
  let audit: AuditTrail;

  beforeAll(async () => {
    db = await freshDatabase(kind);
    keys = new ApiKeys(db);
    audit = new AuditTrail(db);
  });
  afterAll(async () => {
    await db?.close();
  });

  it('a key is shown once: the ledger keeps its name, role and a hash, never the key', async () => {
    const { key, info } = await keys.add('ann', 'approver', 'key:root');
    expect(key).toMatch(/^rf_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(info).toMatchObject({ name: 'ann', role: 'approver', person: 'ann', createdBy: 'key:root' });
    // Made by a bare id (a write straight into the ledger): no one else counts as holding it.
    expect(await keys.actorFor(key)).toEqual({ id: 'key:ann', name: 'ann', role: 'approver', via: 'api-key', person: 'ann' });
    const { rows } = await db.query<Record<string, unknown>>('SELECT * FROM api_keys');
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(key.slice(16));
    expect(await keys.list()).toEqual([expect.objectContaining({ name: 'ann', role: 'approver' })]);
    expect(JSON.stringify(await keys.list())).not.toContain(key.slice(16));
  });

  it('refuses a wrong secret, an unknown key id and a revoked key; a revoked name stays taken', async () => {
    const { key } = await keys.add('bob', 'viewer', 'key:ann');
    expect(await keys.actorFor(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await keys.actorFor(`rf_000000000000_${key.slice(16)}`)).toBeUndefined();
    expect(await keys.actorFor('not-a-key')).toBeUndefined();
    expect(await keys.revoke('bob', 'key:ann')).toMatchObject({ name: 'bob', revokedBy: 'key:ann' });
    expect(await keys.actorFor(key)).toBeUndefined();
    expect(await keys.revoke('bob', 'key:ann')).toBeUndefined();
    await expect(keys.add('bob', 'viewer', 'key:ann')).rejects.toThrow(KeyNameTaken);
    await expect(keys.add('bad name', 'viewer', 'key:ann')).rejects.toThrow(/is not a key name/);
  });

  it('a key belongs to a person; one made and shown by another person is held by them too', async () => {
    const { key } = await keys.add('ann-laptop', 'approver', { id: 'key:root', person: 'root' }, { person: 'ann' });
    expect(await keys.actorFor(key)).toEqual({ id: 'key:ann-laptop', name: 'ann-laptop', role: 'approver', via: 'api-key', person: 'ann', heldBy: 'root' });
    const own = await keys.add('root-2', 'admin', { id: 'key:root', person: 'root' }, { person: 'root' });
    expect(await keys.actorFor(own.key)).toEqual({ id: 'key:root-2', name: 'root-2', role: 'admin', via: 'api-key', person: 'root' });
    await expect(keys.add('carl', 'viewer', 'key:root', { person: 'has space' })).rejects.toThrow(/is not a person/);
  });

  it('a grant by two: no key until a second person confirms it, who is shown it and holds it', async () => {
    const proposed = await keys.propose('dora', 'approver', 'dora', { id: 'key:root', person: 'root' });
    expect(proposed).toMatchObject({ name: 'dora', person: 'dora', pending: true });
    expect(await keys.confirm('dora', { id: 'key:root-2', person: 'root' })).toEqual({ kind: 'same_person' });
    expect(await keys.confirm('dora', { id: 'key:root-3', person: 'Root' })).toEqual({ kind: 'same_person' });
    expect(await keys.confirm('nobody', { id: 'key:eve', person: 'eve' })).toEqual({ kind: 'not_waiting' });
    const confirmed = await keys.confirm('dora', { id: 'key:eve', person: 'eve' });
    if (confirmed.kind !== 'confirmed') throw new Error(`not confirmed: ${confirmed.kind}`);
    expect(confirmed.info).toMatchObject({ name: 'dora', confirmedBy: 'key:eve' });
    expect(confirmed.info.pending).toBeUndefined();
    expect(await keys.actorFor(confirmed.key)).toEqual({ id: 'key:dora', name: 'dora', role: 'approver', via: 'api-key', person: 'dora', heldBy: 'eve' });
    expect(await keys.confirm('dora', { id: 'key:fay', person: 'fay' })).toEqual({ kind: 'not_waiting' });
  });

  it('the audit trail is append-only: UPDATE, DELETE and TRUNCATE are refused whoever asks', async () => {
    const entry = await audit.append({
      actor: { id: 'key:ann', name: 'ann', role: 'approver' },
      action: 'approve',
      refundId: 'RF-1',
      outcome: 'done',
      statusBefore: 'awaiting_approval',
      statusAfter: 'submitting',
      reason: 'checked',
      requestId: 'req-1',
    });
    expect(entry).toMatchObject({ id: expect.any(String) as unknown, at: expect.any(String) as unknown, action: 'approve' });
    await expect(db.query("UPDATE operator_audit SET reason = 'changed'")).rejects.toThrow(/append-only: UPDATE/);
    await expect(db.query('DELETE FROM operator_audit')).rejects.toThrow(/append-only: DELETE/);
    await expect(db.query('TRUNCATE operator_audit')).rejects.toThrow(/append-only: TRUNCATE/);
    expect((await audit.list({ limit: 10 })).entries).toEqual([entry]);
  });

  it('an attempt is written before its action, and one that cannot be written says the action was not carried out', async () => {
    const entry = {
      actor: { id: 'key:ann', name: 'ann', role: 'approver' as const },
      action: 'approve',
      refundId: 'RF-A',
      statusBefore: 'awaiting_approval',
      requestId: 'req-a',
    };
    await audit.attempt(entry);
    await audit.append({ ...entry, outcome: 'pending' });
    expect((await audit.list({ refundId: 'RF-A', limit: 10 })).entries.map((e) => e.outcome)).toEqual(['attempted', 'pending']);
    await expect(
      db.query("INSERT INTO operator_audit (actor_id, actor_name, action, outcome, request_id) VALUES ('key:ann', 'ann', 'approve', 'maybe', 'req-b')"),
    ).rejects.toThrow(/operator_audit_outcome_check/);
    const broken = new AuditTrail({ query: () => Promise.reject(new Error('connection terminated')) } as unknown as Database);
    await expect(broken.attempt(entry)).rejects.toBeInstanceOf(AuditUnavailable);
    const refused = await broken.attempt(entry).catch((err: unknown) => err as Error);
    expect(refused).toMatchObject({
      message: 'the audit trail cannot be written: approve was not carried out; try again',
      cause: new Error('connection terminated'),
    });
  });

  it('lists by refund, by actor (id, or a key’s name) and since a time, a page at a time, oldest first', async () => {
    const base = { outcome: 'refused' as const, requestId: 'req' };
    for (let i = 0; i < 5; i++) {
      await audit.append({ ...base, actor: { id: `key:p${i % 2}`, name: `p${i % 2}` }, action: 'cancel', refundId: `RF-L-${i % 3}` });
    }
    // A display name comes from the caller's token: someone signed in as "p1" is not key p1.
    await audit.append({ ...base, actor: { id: 'oidc:someone-else', name: 'p1' }, action: 'cancel', refundId: 'RF-L-9' });
    expect((await audit.list({ actor: 'oidc:someone-else', limit: 10 })).entries.map((e) => e.refundId)).toEqual(['RF-L-9']);
    expect((await audit.list({ refundId: 'RF-L-0', limit: 10 })).entries.map((e) => e.refundId)).toEqual(['RF-L-0', 'RF-L-0']);
    expect((await audit.list({ actor: 'p1', limit: 10 })).entries).toHaveLength(2);
    expect((await audit.list({ actor: 'key:p0', limit: 10 })).entries).toHaveLength(3);
    const first = await audit.list({ actor: 'p0', limit: 2 });
    expect(first.entries).toHaveLength(2);
    const rest = await audit.list({ actor: 'p0', limit: 2, after: first.next });
    expect(rest).toEqual({ entries: [expect.objectContaining({ refundId: 'RF-L-1' })] });
    expect((await audit.list({ since: new Date(Date.now() + 60_000), limit: 10 })).entries).toEqual([]);
  });
});

describe('keys made before keys had persons', () => {
  it("keep working after the migration, each its name's person", async () => {
    const db = await pgliteDatabase();
    try {
      await db.exec('CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const m of migrations.filter((m) => m.version <= 15)) {
        await db.exec(m.sql);
        await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      }
      // As the engine before it made them: no person.
      const secret = 'a'.repeat(43);
      await db.query("INSERT INTO api_keys (name, role, key_id, secret_hash, created_by) VALUES ('old-ann', 'approver', '0123456789ab', $1, 'key:root')", [
        createHash('sha256').update(secret).digest('hex'),
      ]);
      expect(await migrate(db)).toEqual(migrations.filter((m) => m.version > 15).map((m) => m.version));
      expect(await new ApiKeys(db).actorFor(`rf_0123456789ab_${secret}`)).toEqual({
        id: 'key:old-ann',
        name: 'old-ann',
        role: 'approver',
        via: 'api-key',
        person: 'old-ann',
      });
    } finally {
      await db.close();
    }
  });
});
