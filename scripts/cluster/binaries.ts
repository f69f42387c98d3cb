/**
 * The production-shaped Temporal's parts, built from their Go modules at pinned versions into
 * refundflow's cache outside the clone, once per machine (as the CLI is, scripts/temporal-cli.ts):
 * the server, its SQL schema tool, the server module's PostgreSQL schema files, and the UI server
 * with its configuration template. deploy/temporal/Dockerfile builds the same modules at the same
 * versions for the compose stack (test/cluster-pins.test.ts holds the two together).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, findOnPath, goInstall, secondsSince } from '../go-install.js';

/**
 * The server's newest 1.29 patch: the line of the CLI's embedded dev server (1.29.1), with the
 * security fixes after it. Its go.mod asks for Go 1.25.11.
 */
export const TEMPORAL_SERVER_VERSION = '1.29.7';
/** The UI the CLI v1.5.1's dev server serves (it reports "UI 2.42.1" as it starts), as a standalone server. */
export const TEMPORAL_UI_VERSION = '2.42.1';
const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

export class ClusterBuildError extends Error {
  override readonly name = 'ClusterBuildError';
}

export interface ClusterBinaries {
  server: string;
  sqlTool: string;
  /** The server module's schema/postgresql/v12 folder (deploy/temporal/schema.sh's TEMPORAL_SCHEMA_DIR). */
  schemaDir: string;
  uiServer: string;
  /** The UI server's root: its config/docker.yaml is the env-driven template its image runs with. */
  uiRoot: string;
}

export function clusterBinaryPaths(env: NodeJS.ProcessEnv = process.env): ClusterBinaries {
  const serverDir = join(cacheDir(env), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  const uiDir = join(cacheDir(env), `temporal-ui-server-${TEMPORAL_UI_VERSION}`);
  return {
    server: join(serverDir, 'temporal-server'),
    sqlTool: join(serverDir, 'temporal-sql-tool'),
    schemaDir: join(serverDir, 'schema', 'postgresql', 'v12'),
    uiServer: join(uiDir, 'temporal-ui-server'),
    uiRoot: uiDir,
  };
}

/** Written last into each folder: a folder without it is a build cut short, built again. */
const COMPLETE = '.complete';

function isComplete(dir: string, version: string): boolean {
  try {
    return readFileSync(join(dir, COMPLETE), 'utf8').trim() === version;
  } catch {
    return false;
  }
}

/** Where `go mod download` put the module's source: its schema files and templates are there. */
function moduleSource(go: string, module: string, version: string, env: NodeJS.ProcessEnv): string {
  try {
    const out = execFileSync(go, ['mod', 'download', '-json', `${module}@v${version}`], {
      encoding: 'utf8',
      env: { ...env, GOFLAGS: '-mod=mod' },
      cwd: cacheDir(env),
      timeout: 600_000,
    });
    const dir = (JSON.parse(out) as { Dir?: string }).Dir;
    if (!dir) throw new Error('no Dir in its answer');
    return dir;
  } catch (err) {
    throw new ClusterBuildError(`go mod download ${module}@v${version} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Files copied out of Go's module cache keep its read-only modes: make them the cache's own again. */
function writable(path: string): void {
  chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) writable(join(path, name));
}

export interface EnsureClusterOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/** The cluster's binaries, built first when this machine does not have them yet. */
export async function ensureClusterBinaries({ env = process.env, log = console.log }: EnsureClusterOptions = {}): Promise<ClusterBinaries> {
  const paths = clusterBinaryPaths(env);
  const serverDir = join(paths.server, '..');
  const uiDir = paths.uiRoot;
  if (isComplete(serverDir, TEMPORAL_SERVER_VERSION) && isComplete(uiDir, TEMPORAL_UI_VERSION)) return paths;

  const go = findOnPath('go', env);
  if (!go) {
    throw new ClusterBuildError(
      `Go is needed to build the Temporal server v${TEMPORAL_SERVER_VERSION} and UI server v${TEMPORAL_UI_VERSION} ` +
        `(not yet in ${cacheDir(env)}): install Go 1.25.11 or newer (https://go.dev/dl).`,
    );
  }
  mkdirSync(cacheDir(env), { recursive: true });
  const fail = (message: string) => new ClusterBuildError(message);

  if (!isComplete(serverDir, TEMPORAL_SERVER_VERSION)) {
    log(`Building the Temporal server v${TEMPORAL_SERVER_VERSION} and its SQL tool from their Go module into ${serverDir}.`);
    log('This happens once per machine and takes several minutes; later runs reuse it.');
    const started = Date.now();
    rmSync(join(serverDir, COMPLETE), { force: true });
    await goInstall({
      go,
      packages: [`${SERVER_MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`, `${SERVER_MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`],
      binaries: { server: 'temporal-server', sql: 'temporal-sql-tool' },
      targetDir: serverDir,
      env,
      log,
      fail,
    });
    const source = moduleSource(go, SERVER_MODULE, TEMPORAL_SERVER_VERSION, env);
    rmSync(paths.schemaDir, { recursive: true, force: true });
    cpSync(join(source, 'schema', 'postgresql', 'v12'), paths.schemaDir, { recursive: true });
    writable(paths.schemaDir);
    writeFileSync(join(serverDir, COMPLETE), `${TEMPORAL_SERVER_VERSION}\n`);
    log(`Temporal server v${TEMPORAL_SERVER_VERSION} built in ${secondsSince(started)}s.`);
  }

  if (!isComplete(uiDir, TEMPORAL_UI_VERSION)) {
    log(`Building the Temporal UI server v${TEMPORAL_UI_VERSION} from its Go module into ${uiDir}.`);
    const started = Date.now();
    rmSync(join(uiDir, COMPLETE), { force: true });
    await goInstall({
      go,
      packages: [`${UI_MODULE}/cmd/server@v${TEMPORAL_UI_VERSION}`],
      binaries: { server: 'temporal-ui-server' },
      targetDir: uiDir,
      env,
      log,
      fail,
    });
    const source = moduleSource(go, UI_MODULE, TEMPORAL_UI_VERSION, env);
    mkdirSync(join(uiDir, 'config'), { recursive: true });
    cpSync(join(source, 'config', 'docker.yaml'), join(uiDir, 'config', 'docker.yaml'));
    writable(join(uiDir, 'config'));
    writeFileSync(join(uiDir, COMPLETE), `${TEMPORAL_UI_VERSION}\n`);
    log(`Temporal UI server v${TEMPORAL_UI_VERSION} built in ${secondsSince(started)}s.`);
  }
  for (const path of [paths.server, paths.sqlTool, paths.uiServer, join(paths.schemaDir, 'temporal', 'versioned')]) {
    if (!existsSync(path)) throw new ClusterBuildError(`${path} is missing after the build`);
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  ensureClusterBinaries().then(
    (paths) => console.log(`Temporal server v${TEMPORAL_SERVER_VERSION}: ${paths.server}\nTemporal UI server v${TEMPORAL_UI_VERSION}: ${paths.uiServer}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
