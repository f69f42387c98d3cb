import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, inject } from 'vitest';
import {
  cachedCliPath,
  ensureTemporalCli,
  findTemporalCli,
  GO_MIN_VERSION,
  parseCliVersion,
  TEMPORAL_CLI_VERSION,
  TemporalCliError,
} from '../scripts/temporal-cli.js';

let root: string;
let env: NodeJS.ProcessEnv;

/** A stand-in `temporal` that answers --version like the real one. */
function fakeCli(path: string, version: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\necho "temporal version ${version} (Server 1.29.1, UI 2.42.1)"\n`);
  chmodSync(path, 0o755);
  return path;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'refundflow-cli-'));
  const emptyBin = join(root, 'empty-bin');
  mkdirSync(emptyBin);
  // No go and no temporal on this PATH; the cache is empty.
  env = { PATH: emptyBin, REFUNDFLOW_CACHE_DIR: join(root, 'cache') };
});

afterEach(() => {
  root = '';
});

describe('Temporal CLI bootstrap', () => {
  it('reads the version the CLI prints', () => {
    expect(parseCliVersion('temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)\n')).toBe('1.5.1');
    expect(parseCliVersion('temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)')).toBe('0.0.0');
    expect(parseCliVersion('something else')).toBeUndefined();
  });

  it('keeps its cache outside the clone', () => {
    expect(cachedCliPath({})).toBe(join(homedir(), '.cache', 'refundflow', 'temporal-cli-1.5.1', 'temporal'));
    expect(cachedCliPath({ XDG_CACHE_HOME: '/var/cache/dev' })).toBe('/var/cache/dev/refundflow/temporal-cli-1.5.1/temporal');
    expect(cachedCliPath({ REFUNDFLOW_CACHE_DIR: '/opt/rf' })).toBe('/opt/rf/temporal-cli-1.5.1/temporal');
    expect(cachedCliPath({}).startsWith(process.cwd())).toBe(false);
  });

  it('uses a binary of the pinned version found on PATH', async () => {
    const onPath = fakeCli(join(root, 'bin', 'temporal'), TEMPORAL_CLI_VERSION);
    env.PATH = `${join(root, 'bin')}:${env.PATH}`;
    await expect(ensureTemporalCli({ env, log: () => undefined })).resolves.toBe(onPath);
  });

  it('uses the cached binary when PATH has none', async () => {
    const cached = fakeCli(cachedCliPath(env), TEMPORAL_CLI_VERSION);
    await expect(ensureTemporalCli({ env, log: () => undefined })).resolves.toBe(cached);
  });

  it('passes over a binary of another version', () => {
    fakeCli(join(root, 'bin', 'temporal'), '1.4.0');
    env.PATH = `${join(root, 'bin')}:${env.PATH}`;
    fakeCli(cachedCliPath(env), '0.0.0-DEV');
    expect(findTemporalCli(env)).toBeUndefined();
  });

  it('without Go, stops with one line saying what to install', async () => {
    const failure = ensureTemporalCli({ env, log: () => undefined });
    await expect(failure).rejects.toThrow(TemporalCliError);
    await expect(failure).rejects.toThrow(/^Go is needed to build the Temporal CLI v1\.5\.1 .*install Go [^\n]*$/);
    // The go directive of the CLI module's go.mod (go 1.25.0), as the README's prerequisites say.
    await expect(failure).rejects.toThrow(/install Go 1\.25 or newer/);
    expect(readFileSync('README.md', 'utf8')).toContain(`**Go ≥ ${GO_MIN_VERSION}**`);
  });

  it('the binary the suite runs on is the pinned version', () => {
    expect(findTemporalCli({ ...process.env, PATH: join(inject('temporalCliPath'), '..') })).toBe(inject('temporalCliPath'));
  });
});
