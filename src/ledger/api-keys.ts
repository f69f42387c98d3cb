import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isRole, type Actor, type Role } from '../domain/actor.js';
import { KEY_NAME, PERSON } from '../domain/schemas/operators.js';
import type { Queryable } from './database.js';

/**
 * Named API keys (docs/operations.md, "Who may do what"): `rf_<key id>_<secret>`. The ledger keeps the
 * name, role, the person the key belongs to, key id and a SHA-256 of the secret — never the key — so
 * a key is shown once, when it is made. A revoked key stays listed (and refused), so the audit
 * trail's names keep their meaning. With dual approval on, a grant is made in two steps by two
 * people: `propose` (no secret yet) and `confirm`, which makes the secret and shows it to the confirmer.
 */
export interface ApiKeyInfo {
  name: string;
  role: Role;
  /** Whose key it is: four eyes count people (src/domain/four-eyes.ts). */
  person: string;
  keyId: string;
  createdBy: string;
  createdAt: string;
  /** A grant waiting for a second person's confirmation: no key exists yet. */
  pending?: true;
  confirmedBy?: string;
  confirmedAt?: string;
  revokedAt?: string;
  revokedBy?: string;
}

/** Who makes, confirms or revokes a key: their id for the record, and their person, who is shown the key. */
export interface KeyMaker {
  id: string;
  person?: string | undefined;
}

interface KeyRow {
  name: string;
  role: string;
  person: string;
  key_id: string;
  secret_hash: string | null;
  created_by: string;
  created_at: Date;
  revealed_to: string | null;
  granted_by_person: string | null;
  confirmed_by: string | null;
  confirmed_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
}

const KEY_FORMAT = /^rf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export class KeyNameTaken extends Error {}

export class ApiKeys {
  constructor(private readonly db: Queryable) {}

  /**
   * Makes a key for `name` (of `person`, by default the name), shown to `maker`; answers the key
   * itself, which nothing keeps. A maker given as a bare id (npm start, a write straight into the
   * ledger) is no one four eyes can count.
   */
  async add(name: string, role: Role, maker: string | KeyMaker, options: { person?: string | undefined } = {}): Promise<{ key: string; info: ApiKeyInfo }> {
    const by = typeof maker === 'string' ? { id: maker } : maker;
    const secret = randomBytes(32).toString('base64url');
    const row = await this.insert(name, role, options.person ?? name, by, { secretHash: hashOf(secret), revealedTo: by.person });
    return { key: `rf_${row.key_id}_${secret}`, info: toInfo(row) };
  }

  /** The first half of a grant made by two people: a key for `name` that exists once a second person confirms it. */
  async propose(name: string, role: Role, person: string, maker: KeyMaker): Promise<ApiKeyInfo> {
    return toInfo(await this.insert(name, role, person, maker, {}));
  }

  /**
   * The second half: makes the key of a proposed grant and answers it, shown to `confirmer` (who hands
   * it on). Refused when there is no grant of that name waiting (`not_waiting`), or the confirmer is
   * its granter (`same_person`).
   */
  async confirm(name: string, confirmer: KeyMaker): Promise<{ kind: 'confirmed'; key: string; info: ApiKeyInfo } | { kind: 'not_waiting' | 'same_person' }> {
    const secret = randomBytes(32).toString('base64url');
    const { rows } = await this.db.query<KeyRow>(
      `UPDATE api_keys SET secret_hash = $2, revealed_to = $3, confirmed_by = $4, confirmed_at = now()
       WHERE name = $1 AND secret_hash IS NULL AND revoked_at IS NULL AND lower(granted_by_person) IS DISTINCT FROM lower($3) RETURNING *`,
      [name, hashOf(secret), confirmer.person ?? null, confirmer.id],
    );
    if (rows[0]) return { kind: 'confirmed', key: `rf_${rows[0].key_id}_${secret}`, info: toInfo(rows[0]) };
    const waiting = await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE name = $1 AND secret_hash IS NULL AND revoked_at IS NULL', [name]);
    return { kind: waiting.rows[0] ? 'same_person' : 'not_waiting' };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM api_keys ORDER BY created_at, name');
    return rows.map(toInfo);
  }

  /** Revokes `name`'s key (or grant): answers it as revoked, or undefined when there is no such key (or it was revoked already). */
  async revoke(name: string, revokedBy: string): Promise<ApiKeyInfo | undefined> {
    const { rows } = await this.db.query<KeyRow>('UPDATE api_keys SET revoked_at = now(), revoked_by = $2 WHERE name = $1 AND revoked_at IS NULL RETURNING *', [
      name,
      revokedBy,
    ]);
    return rows[0] && toInfo(rows[0]);
  }

  /** The actor a presented key stands for; undefined for anything not a live key of this ledger. */
  async actorFor(presented: string): Promise<Actor | undefined> {
    const parts = KEY_FORMAT.exec(presented);
    if (!parts) return undefined;
    const { rows } = await this.db.query<KeyRow>('SELECT * FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL AND secret_hash IS NOT NULL', [parts[1]]);
    const row = rows[0];
    if (!row?.secret_hash || !isRole(row.role)) return undefined;
    const given = Buffer.from(hashOf(parts[2]!), 'hex');
    if (!timingSafeEqual(given, Buffer.from(row.secret_hash, 'hex'))) return undefined;
    return {
      id: `key:${row.name}`,
      name: row.name,
      role: row.role,
      via: 'api-key',
      person: row.person,
      ...(row.revealed_to !== null && row.revealed_to !== row.person && { heldBy: row.revealed_to }),
    };
  }

  private async insert(
    name: string,
    role: Role,
    person: string,
    maker: KeyMaker,
    key: { secretHash?: string; revealedTo?: string | undefined },
  ): Promise<KeyRow> {
    if (!KEY_NAME.test(name)) throw new Error(`"${name}" is not a key name: 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`);
    if (!PERSON.test(person)) throw new Error(`"${person}" is not a person: 1–255 printable characters, no spaces (an OIDC subject, or a name)`);
    const { rows } = await this.db.query<KeyRow>(
      `INSERT INTO api_keys (name, role, person, key_id, secret_hash, created_by, granted_by_person, revealed_to) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (name) DO NOTHING RETURNING *`,
      [name, role, person, randomBytes(6).toString('hex'), key.secretHash ?? null, maker.id, maker.person ?? null, key.revealedTo ?? null],
    );
    if (!rows[0]) throw new KeyNameTaken(`a key named ${name} exists already (revoked keys keep their names); choose another name`);
    return rows[0];
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
    person: row.person,
    keyId: row.key_id,
    createdBy: row.created_by,
    createdAt: row.created_at.toISOString(),
    ...(row.secret_hash === null && row.revoked_at === null && { pending: true as const }),
    ...(row.confirmed_by !== null && { confirmedBy: row.confirmed_by }),
    ...(row.confirmed_at && { confirmedAt: row.confirmed_at.toISOString() }),
    ...(row.revoked_at && { revokedAt: row.revoked_at.toISOString() }),
    ...(row.revoked_by !== null && { revokedBy: row.revoked_by }),
  };
}
