import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

/**
 * docs/configuration.md is the one table of the engine's environment: every variable the
 * configuration schema (src/config.ts) reads has a row there, and every row names variables the
 * engine reads (no row left behind by a variable that was removed).
 */

/** The variables `rawSchema` in src/config.ts declares, one per line of its object. */
function schemaVariables(): string[] {
  const source = readFileSync('src/config.ts', 'utf8');
  const start = source.indexOf('const rawSchema = z.object({');
  const end = source.indexOf('\n});', start);
  return [...source.slice(start, end).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] ?? '');
}

/** The variables named in the first cell of each row of the configuration table. */
function documentedVariables(): string[] {
  const doc = readFileSync('docs/configuration.md', 'utf8');
  return [...doc.matchAll(/^\| ([^|]+) \|/gm)].flatMap((m) => [...(m[1] ?? '').matchAll(/`([A-Z][A-Z0-9_]*)/g)].map((v) => v[1] ?? ''));
}

describe('docs/configuration.md', () => {
  it('has a row for every variable src/config.ts reads', () => {
    const variables = schemaVariables();
    // Not vacuous: the parse found the schema, and the schema is what loadConfig applies defaults from.
    expect(variables.length).toBeGreaterThan(40);
    expect(Object.keys(loadConfig({})).filter((name) => !variables.includes(name))).toEqual([]);
    const documented = new Set(documentedVariables());
    expect(variables.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('names no variable the engine does not read', () => {
    const variables = new Set(schemaVariables());
    // Temporal's own connection settings (@temporalio/envconfig, src/wiring/temporal-connection.ts), the Temporal CLI's cache, and the image's commit (src/release.ts).
    const elsewhere =
      /^(TEMPORAL_TLS|TEMPORAL_API_KEY|TEMPORAL_GRPC_META_|TEMPORAL_PROFILE$|TEMPORAL_CONFIG_FILE$|LEDGER_MIGRATION_URL$|REFUNDFLOW_CACHE_DIR$|REFUNDFLOW_COMMIT$)/;
    const unknown = documentedVariables().filter((name) => !variables.has(name) && !elsewhere.test(name));
    expect(unknown).toEqual([]);
  });
});
