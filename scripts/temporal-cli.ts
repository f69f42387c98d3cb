/**
 * Finds, or builds, the Temporal CLI that serves the dev server and Web UI.
 *
 * No Temporal binary can be downloaded on our machines, and CLI tags after v1.5.1 carry a `replace`
 * directive that `go install` refuses, so the pinned v1.5.1 is built from its Go module into a cache
 * outside the clone, where every later clone, `npm start`, `npm test` and CI find it again.
 *
 * Run directly (`npm run temporal:install`) it ensures the binary and prints its path.
 */
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, findOnPath, goInstall, isExecutable, secondsSince } from './go-install.js';

export { cacheDir } from './go-install.js';

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

export function cachedCliPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/** `temporal --version` prints e.g. "temporal version 1.5.1 (Server 1.29.1, UI 2.41.0)". */
export function parseCliVersion(output: string): string | undefined {
  return /^temporal version (\d+\.\d+\.\d+)\b/m.exec(output)?.[1];
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
  log(`Building the Temporal CLI v${TEMPORAL_CLI_VERSION} from its Go module into ${target}.`);
  log('This happens once per machine and takes several minutes; later runs reuse it.');
  const started = Date.now();
  await goInstall({
    go,
    packages: [TEMPORAL_CLI_MODULE],
    binaries: { temporal: 'temporal' },
    targetDir: dirname(target),
    ldflags: RELEASE_LDFLAGS,
    env,
    log,
    fail: (message) => new TemporalCliError(message),
  });
  const version = versionOf(target);
  if (version !== TEMPORAL_CLI_VERSION) {
    throw new TemporalCliError(`The Temporal CLI built at ${target} reports version ${version ?? 'unknown'}`);
  }
  log(`Temporal CLI v${TEMPORAL_CLI_VERSION} built in ${secondsSince(started)}s: ${target}`);
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
