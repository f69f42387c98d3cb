/**
 * Finds, or builds, the Temporal CLI that serves the dev server and Web UI.
 *
 * No Temporal binary can be downloaded on our machines, and CLI tags after v1.5.1 carry a `replace`
 * directive that `go install` refuses, so the pinned v1.5.1 is built from its Go module into a cache
 * outside the clone, where every later clone, `npm start`, `npm test` and CI find it again.
 *
 * Run directly (`npm run temporal:install`) it ensures the binary and prints its path.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = '1.5.1';
const TEMPORAL_CLI_MODULE = `github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}`;
/**
 * The oldest Go that builds it: the `go` directive of the CLI's go.mod at v1.5.1 is `go 1.25.0`.
 * An older Go refuses the module (with GOTOOLCHAIN=local) or first downloads a Go 1.25 toolchain.
 */
export const GO_MIN_VERSION = '1.25';
// The flags of the CLI's own release build: without the version stamp the binary calls itself
// 0.0.0-DEV, and we could not tell it from any other build.
const RELEASE_LDFLAGS = `-s -w -X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`;

export class TemporalCliError extends Error {
  override readonly name = 'TemporalCliError';
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.REFUNDFLOW_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'refundflow');
}

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/** `temporal --version` prints e.g. "temporal version 1.5.1 (Server 1.29.1, UI 2.41.0)". */
export function parseCliVersion(output: string): string | undefined {
  return /^temporal version (\d+\.\d+\.\d+)\b/m.exec(output)?.[1];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(isExecutable);
}

function versionOf(path: string): string | undefined {
  try {
    return parseCliVersion(execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 15_000 }));
  } catch {
    return undefined;
  }
}

/** A binary of the pinned version, on PATH first, then in the cache; undefined when neither has one. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [findOnPath('temporal', env), cachedCliPath(env)];
  return candidates.find((path) => path !== undefined && isExecutable(path) && versionOf(path) === TEMPORAL_CLI_VERSION);
}

export interface EnsureOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export async function ensureTemporalCli({ env = process.env, log = console.log }: EnsureOptions = {}): Promise<string> {
  const found = findTemporalCli(env);
  if (found) return found;

  const go = findOnPath('go', env);
  if (!go) {
    throw new TemporalCliError(
      `Go is needed to build the Temporal CLI v${TEMPORAL_CLI_VERSION} (none on PATH or in ${cachedCliPath(env)}): ` +
        `install Go ${GO_MIN_VERSION} or newer (https://go.dev/dl), or set TEMPORAL_ADDRESS to use an existing Temporal server.`,
    );
  }
  return buildTemporalCli(go, env, log);
}

async function buildTemporalCli(go: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  const target = cachedCliPath(env);
  const buildDir = `${target}.build-${process.pid}`;
  mkdirSync(buildDir, { recursive: true });
  log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} from its Go module into ${target}.`);
  log('This happens once per machine and takes several minutes; later runs reuse it.');

  const started = Date.now();
  let packages = 0;
  let latest = '';
  const report = () => {
    const seconds = Math.round((Date.now() - started) / 1000);
    log(`  … ${seconds}s, ${packages} packages built${latest ? `, now ${latest}` : ''}`);
  };
  const ticker = setInterval(report, 20_000);
  try {
    await new Promise<void>((resolve, reject) => {
      // `go install pkg@version` ignores any go.mod around it; running it in the cache keeps the
      // clone untouched.
      const child = spawn(go, ['install', '-v', '-ldflags', RELEASE_LDFLAGS, TEMPORAL_CLI_MODULE], {
        cwd: buildDir,
        env: { ...env, GOBIN: buildDir, CGO_ENABLED: '0' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const tail: string[] = [];
      let pending = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        const lines = (pending + chunk).split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('go: ')) {
            packages += 1;
            latest = line;
          }
          tail.push(line);
          if (tail.length > 20) tail.shift();
        }
      });
      child.on('error', reject);
      child.on('close', (code) => {
        if (code === 0) resolve();
        else reject(new TemporalCliError(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${code}):\n${tail.join('\n')}`));
      });
    });
    // Moving the finished binary in as one step means a build cut short never leaves a broken one.
    renameSync(join(buildDir, 'temporal'), target);
  } finally {
    clearInterval(ticker);
    rmSync(buildDir, { recursive: true, force: true });
  }
  const version = versionOf(target);
  if (version !== TEMPORAL_CLI_VERSION) {
    throw new TemporalCliError(`The Temporal CLI built at ${target} reports version ${version ?? 'unknown'}`);
  }
  log(`Temporal CLI v${TEMPORAL_CLI_VERSION} built in ${Math.round((Date.now() - started) / 1000)}s: ${target}`);
  return target;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureTemporalCli().then(
    (path) => console.log(`Temporal CLI v${TEMPORAL_CLI_VERSION}: ${path}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
