import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isRole, type Actor, type Role } from '../domain/actor.js';
import type { Queryable } from './database.js';

/**
 * Named API keys (docs/operations.md, "Who may do what"): `rf_<key id>_<secret>`. The ledger keeps the
 * name, role, key id and a SHA-256 of the secret — never the key — so a key is shown once, when it
 * is made. A revoked key stays listed (and refused), so the audit trail's names keep their meaning.
 */
export interface ApiKeyInfo {
  name: string;
  role: Role;
  keyId: string;
  createdBy: string;
  createdAt: string;
  revokedAt?: string;
  revokedBy?: string;
}

interface KeyRow {
  name: string;
  role: string;
  key_id: string;
  secret_hash: string;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
}

/** Names people and services can be given: letters, digits and . _ @ - (an e-mail address fits). */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const KEY_FORMAT = /^rf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export class KeyNameTaken extends Error {}

export class ApiKeys {
  constructor(private readonly db: Queryable) {}

  /** Makes a key for `name`; answers the key itself, which nothing keeps. */
  async add(name: string, role: Role, createdBy: string): Promise<{ key: string; info: ApiKeyInfo }> {
    if (!KEY_NAME.test(name)) throw new Error(`"${name}" is not a key name: 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`);
    const keyId = randomBytes(6).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const { rows } = await this.db.query<KeyRow>(
      `INSERT INTO api_keys (name, role, key_id, secret_hash, created_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [name, role, keyId, hashOf(secret), createdBy],
    );
    if (!rows[0]) throw new KeyNameTaken(`a key named ${name} exists already (revoked keys keep their names); choose another name`);
    return { key: `rf_${keyId}_${secret}`, info: toInfo(rows[0]) };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, name');
    return rows.map(toInfo);
  }

  /** Revokes `name`'s key: answers it as revoked, or undefined when there is no such key (or it was revoked already). */
  async revoke(name: string, revokedBy: string): Promise<ApiKeyInfo | undefined> {
    const { rows } = await this.db.query<KeyRow>(
      'UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING *',
      [name, revokedBy],
    );
    return rows[0] && toInfo(rows[0]);
  }

  /** The actor a presented key stands for; undefined for anything not a live key of this ledger. */
  async actorFor(presented: string): Promise<Actor | undefined> {
    const parts = KEY_FORMAT.exec(presented);
    if (!parts) return undefined;
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL', [parts[1]]);
    const row = rows[0];
    if (!row || !isRole(row.role)) return undefined;
    const given = Buffer.from(hashOf(parts[2]!), 'hex');
    if (!timingSafeEqual(given, Buffer.from(row.secret_hash, 'hex'))) return undefined;
    return { id: `key:${row.name}`, name: row.name, role: row.role, via: 'api-key' };
  }
}

/** Whether `value` looks like one of our keys (and not, say, a JWT). */
export function looksLikeApiKey(value: string): boolean {
  return value.startsWith('rf_');
}

function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function toInfo(row: KeyRow): ApiKeyInfo {
  return {
    name: row.name,
    role: isRole(row.role) ? row.role : 'viewer',
    keyId: row.key_id,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    ...(row.revoked_at && { revokedAt: row.revoked_at.toISOString() }),
    ...(row.revoked_by !== null && { revokedBy: row.revoked_by }),
  };
}
