import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { loadClientConfig, loadClientConfigFromToml, type ClientConfig, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';

/**
 * What the Temporal connection settings read from disk (src/wiring/temporal-connection.ts): the
 * profile of a TOML config file, and the PEM files of TLS. Each problem names the variable (or the
 * profile key) that led here, never a value.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** The PEM items of TLS: their variables, and their keys in a config file's `tls` table. */
export const PEM_ITEMS = [
  { field: 'clientCert', variable: 'TEMPORAL_TLS_CLIENT_CERT', toml: 'client_cert', what: 'client certificate' },
  { field: 'clientKey', variable: 'TEMPORAL_TLS_CLIENT_KEY', toml: 'client_key', what: 'client key' },
  { field: 'serverCACert', variable: 'TEMPORAL_TLS_SERVER_CA_CERT', toml: 'server_ca_cert', what: 'server CA certificate' },
] as const;
export type PemItem = (typeof PEM_ITEMS)[number];

export interface ProfileFile {
  name: string;
  /** How an error names it: it starts with the variable that chose it. */
  label: string;
  profile: ClientConfigProfile;
}

/**
 * The profile of the config file, read only when TEMPORAL_CONFIG_FILE or TEMPORAL_PROFILE asks for
 * one: unlike the `temporal` CLI, the engine does not pick up a personal
 * ~/.config/temporalio/temporal.toml by itself, so a developer's profile never redirects `npm start`,
 * a worker or the tests.
 */
export function configFile(given: Env, env: Env, problems: string[]): ProfileFile | undefined {
  const path = given.TEMPORAL_CONFIG_FILE;
  const chosen = given.TEMPORAL_PROFILE;
  if (path === undefined && chosen === undefined) return undefined;
  const fileLabel =
    path === undefined
      ? 'TEMPORAL_PROFILE: the default Temporal config file (temporalio/temporal.toml under $XDG_CONFIG_HOME or ~/.config)'
      : 'TEMPORAL_CONFIG_FILE';
  let config: ClientConfig;
  try {
    if (path === undefined) {
      config = loadClientConfig({ overrideEnvVars: pick(env, ['HOME', 'XDG_CONFIG_HOME', 'APPDATA']) });
    } else {
      const bytes = readNamedFile(path, 'TEMPORAL_CONFIG_FILE', problems);
      if (bytes === undefined) return undefined;
      config = loadClientConfigFromToml(bytes, { strict: false });
    }
  } catch (err) {
    problems.push(`${fileLabel} ${fileProblem(err)}`);
    return undefined;
  }
  const name = chosen ?? 'default';
  const profile = config.profiles[name];
  if (profile === undefined) {
    problems.push(
      chosen === undefined
        ? 'TEMPORAL_CONFIG_FILE has no profile "default": name the one to use with TEMPORAL_PROFILE'
        : `TEMPORAL_PROFILE names profile "${chosen}", which ${path === undefined ? 'the default Temporal config file (set TEMPORAL_CONFIG_FILE to another)' : 'TEMPORAL_CONFIG_FILE'} does not have`,
    );
    return undefined;
  }
  const label = `${path === undefined ? 'TEMPORAL_PROFILE' : 'TEMPORAL_CONFIG_FILE'} (profile "${name}")`;
  const wrong = profileShapeProblem(profile);
  if (wrong) problems.push(`${label} ${wrong}`);
  return { name, label, profile };
}

/** Why a config file could not be loaded: never the parser's own message, which quotes the file's lines. */
function fileProblem(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'line' in err && 'column' in err) {
    return `is not valid TOML (line ${String(err.line)}, column ${String(err.column)})`;
  }
  if ((err as NodeJS.ErrnoException).code === 'EACCES') return 'cannot be read (permission denied)';
  if ((err as NodeJS.ErrnoException).code === 'EISDIR') return 'is a directory, not a file';
  const both = /Cannot specify both (\w+) and (\w+)/.exec(err instanceof Error ? err.message : '');
  if (both) return `gives both ${both[1]} and ${both[2]} in one profile: give one`;
  return 'cannot be read as a Temporal config file';
}

/** A TOML profile of the wrong shape (a number for a string): the SDK would fail later, less plainly. */
function profileShapeProblem(profile: ClientConfigProfile): string | undefined {
  for (const [key, value] of [
    ['address', profile.address],
    ['namespace', profile.namespace],
    ['api_key', profile.apiKey],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') return `has ${key} that is not a string`;
  }
  if (profile.tls !== undefined && (typeof profile.tls !== 'object' || Array.isArray(profile.tls))) return 'has tls that is not a table';
  return undefined;
}

/**
 * A PEM item given as a path in one place and as data in the other: the environment overrides the
 * file key by key, so both would reach @temporalio/envconfig, which refuses them.
 */
export function mixedSources(given: Env, file: ProfileFile): string[] {
  return PEM_ITEMS.flatMap((item) => {
    const inFile = file.profile.tls?.[item.field];
    if (inFile === undefined) return [];
    const fileKey = 'path' in inFile ? `${item.toml}_path` : `${item.toml}_data`;
    const envName = 'path' in inFile ? `${item.variable}_DATA` : `${item.variable}_PATH`;
    return given[envName] === undefined ? [] : [`${envName} is set while ${file.label} gives ${fileKey}: give the ${item.what} one way`];
  });
}

export interface TlsMaterial {
  clientCert?: X509Certificate;
  clientKey?: KeyObject;
}

/** Reads and parses each PEM item now, so a wrong file or a pasted fragment is named before connecting. */
export function readTlsMaterial(tls: NonNullable<ClientConfigProfile['tls']>, where: (item: PemItem) => string, problems: string[]): TlsMaterial {
  const material: TlsMaterial = {};
  for (const item of PEM_ITEMS) {
    const source: ConfigDataSource | undefined = tls[item.field];
    if (source === undefined) continue;
    const bytes = 'path' in source ? readNamedFile(source.path, where(item), problems) : Buffer.from(source.data);
    if (bytes === undefined) continue;
    const pem = Buffer.from(bytes);
    if (!pem.toString('utf8').includes('-----BEGIN ')) {
      problems.push(`${where(item)} is not PEM (-----BEGIN …-----)`);
      continue;
    }
    try {
      if (item.field === 'clientKey') material.clientKey = createPrivateKey({ key: pem, format: 'pem' });
      else if (item.field === 'clientCert') material.clientCert = new X509Certificate(pem);
      else new X509Certificate(pem);
    } catch {
      problems.push(item.field === 'clientKey' ? `${where(item)} is not an unencrypted PEM private key` : `${where(item)} is not a PEM certificate`);
    }
  }
  return material;
}

/** A file's bytes, or a problem naming the variable that named it. */
function readNamedFile(path: string, variable: string, problems: string[]): Uint8Array | undefined {
  try {
    if (statSync(path).isDirectory()) {
      problems.push(`${variable} names a directory, not a file`);
      return undefined;
    }
    return readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    problems.push(
      code === 'ENOENT' || code === 'ENOTDIR'
        ? `${variable} names a file that does not exist`
        : `${variable} names a file that cannot be read (${code ?? 'error'})`,
    );
    return undefined;
  }
}

function pick(env: Env, names: string[]): Record<string, string> {
  return Object.fromEntries(names.flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
}
