import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentRelease, describeRelease, releaseAt } from '../../src/release.js';

/** A folder holding a package.json of `version` (an image's folder: no .git), or a git checkout of it. */
function project(version: string, { git = false } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'refundflow-release-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'refundflow', version }));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'a.ts'), 'export const a = 1;\n');
  if (git) {
    const run = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { stdio: 'ignore' });
    run('init', '-q');
    run('add', '.');
    run('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'one');
  }
  return dir;
}

const head = (dir: string) => execFileSync('git', ['-C', dir, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

describe('the release and its build id (src/release.ts)', () => {
  it("is this checkout's version and commit", () => {
    const release = currentRelease();
    const version = (JSON.parse(execFileSync('git', ['show', 'HEAD:package.json'], { encoding: 'utf8' })) as { version: string }).version;
    expect(release).toMatchObject({ version, commit: head('.').slice(0, 12), source: 'git' });
    expect(release.buildId.startsWith(`${version}-${head('.').slice(0, 12)}`)).toBe(true);
  });

  it('is the version and the commit in a clean checkout; with uncommitted code, a hash of it is added', () => {
    const dir = project('2.3.4', { git: true });
    const commit = head(dir).slice(0, 12);
    expect(releaseAt(dir, {})).toEqual({ version: '2.3.4', commit, modified: false, buildId: `2.3.4-${commit}`, source: 'git' });
    writeFileSync(join(dir, 'src', 'a.ts'), 'export const a = 2;\n');
    const modified = releaseAt(dir, {});
    expect(modified).toMatchObject({ modified: true, source: 'git' });
    expect(modified.buildId).toMatch(new RegExp(`^2\\.3\\.4-${commit}-modified-[0-9a-f]{8}$`));
    expect(describeRelease(modified)).toBe(`refundflow 2.3.4, build ${modified.buildId} (the checkout, with uncommitted changes to the code)`);
  });

  it("is REFUNDFLOW_COMMIT in an image's folder, and a hash of the code without it; a commit that is not one is refused", () => {
    const dir = project('2.3.4');
    expect(releaseAt(dir, { REFUNDFLOW_COMMIT: '0123456789abcdef0123' })).toEqual({
      version: '2.3.4',
      commit: '0123456789ab',
      modified: false,
      buildId: '2.3.4-0123456789ab',
      source: 'REFUNDFLOW_COMMIT',
    });
    const unknown = releaseAt(dir, { REFUNDFLOW_COMMIT: '' });
    expect(unknown).toMatchObject({ version: '2.3.4', modified: false, source: 'code' });
    expect(unknown.buildId).toMatch(/^2\.3\.4-code-[0-9a-f]{12}$/);
    expect(() => releaseAt(dir, { REFUNDFLOW_COMMIT: 'main branch' })).toThrow(
      'REFUNDFLOW_COMMIT "main branch" is not a commit: 7 to 40 hex digits (git rev-parse HEAD)',
    );
  });

  it('is WORKER_BUILD_ID when it is given, which must be a build id', () => {
    const dir = project('2.3.4', { git: true });
    expect(releaseAt(dir, { WORKER_BUILD_ID: 'release-2026.12.06' })).toMatchObject({
      buildId: 'release-2026.12.06',
      source: 'WORKER_BUILD_ID',
      commit: head(dir).slice(0, 12),
    });
    expect(() => releaseAt(dir, { WORKER_BUILD_ID: 'two words' })).toThrow(
      'WORKER_BUILD_ID "two words" may have only letters, digits and . _ + - (at most 255)',
    );
  });
});
