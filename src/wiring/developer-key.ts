import type { Config } from '../config.js';
import { readDevSecrets, saveDeveloperKey } from '../dev-secrets.js';
import { ApiKeys } from '../ledger/api-keys.js';
import type { Database } from '../ledger/database.js';

/**
 * The embedded development mode's API key for the developer: an approver named `developer`, made
 * once in the ledger by `npm start` and kept with the other development secrets (DATA_DIR/dev-secrets.json),
 * so the banner can print it and the CLI on this machine finds it. A key the ledger no longer knows
 * (its ledger was deleted, or the key revoked) is replaced by a new one.
 */
export async function ensureDeveloperKey(db: Database, config: Pick<Config, 'DATA_DIR'>): Promise<{ key: string; made: boolean }> {
  const keys = new ApiKeys(db);
  const kept = readDevSecrets(config)?.developerKey;
  if (kept && (await keys.actorFor(kept))) return { key: kept, made: false };
  const taken = new Set((await keys.list()).map((key) => key.name));
  let name = 'developer';
  for (let n = 2; taken.has(name); n++) name = `developer-${n}`;
  // Every developer key (a new one replaces a lost one) is the one developer's: four eyes count them once.
  const { key } = await keys.add(name, 'approver', 'npm start (embedded development mode)', { person: 'developer' });
  saveDeveloperKey(config, key);
  return { key, made: true };
}
