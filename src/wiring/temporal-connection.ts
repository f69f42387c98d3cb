import type { ConnectionOptions } from '@temporalio/client';
import { clientConfigToToml, loadClientConfigProfile, toClientOptions, type ClientConfigProfile } from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { ConfigError, exitOnConfigError, loadConfig } from '../config.js';
import { configFile, mixedSources, PEM_ITEMS, readTlsMaterial, type PemItem, type ProfileFile } from './temporal-connection-files.js';

/**
 * How every process of the engine reaches Temporal: the worker, the API, `npm start` and
 * `refundflow schedule install` all connect with what this module returns.
 *
 * The settings are Temporal's own (what the `temporal` CLI and the SDKs read), read through
 * `@temporalio/envconfig`: TEMPORAL_API_KEY, TEMPORAL_TLS and TEMPORAL_TLS_*, TEMPORAL_GRPC_META_*,
 * and a profile of a TOML config file (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE). The server and the
 * namespace stay src/config.ts's TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE alone: an unset
 * TEMPORAL_ADDRESS is `npm start`'s own dev server, which takes none of the rest.
 *
 * Everything is checked before a connection is tried, so a mistake stops the process with one line
 * naming the variable, never its value (keys and API keys are secrets).
 */

export type Env = Readonly<Record<string, string | undefined>>;

export type TemporalSecurity = 'plain' | 'TLS' | 'TLS with client certificate' | 'API key over TLS' | 'API key over TLS with client certificate';

export interface TemporalConnection {
  address: string;
  namespace: string;
  /** Whether the server is `npm start`'s own dev server (TEMPORAL_ADDRESS unset). */
  devServer: boolean;
  security: TemporalSecurity;
  /** The config file's profile in use, when one is. */
  profile?: string;
  /** For `Connection.connect` (@temporalio/client). */
  connectionOptions: ConnectionOptions;
  /** For `NativeConnection.connect` (@temporalio/worker): an API key only as a string. */
  nativeConnectionOptions: NativeConnectionOptions;
}

const BOOLEAN_VALUES = ['true', 'false', '1', '0'];

/** Every TEMPORAL_TLS* variable @temporalio/envconfig reads: another is a typo, or another tool's name. */
const TLS_VARIABLES = new Set([
  'TEMPORAL_TLS',
  ...PEM_ITEMS.flatMap((item) => [`${item.variable}_PATH`, `${item.variable}_DATA`]),
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
]);

/**
 * The connection `env` describes (process.env, or a test's own object). Throws a ConfigError whose
 * message names each variable that is wrong and says why.
 */
export function temporalConnection(env: Env): TemporalConnection {
  // An empty value counts as unset, as everywhere in src/config.ts (compose passes `VAR: ""`).
  const given: Env = Object.fromEntries(Object.entries(env).filter(([name, value]) => name.startsWith('TEMPORAL_') && value !== undefined && value !== ''));
  const base = loadConfig({ TEMPORAL_ADDRESS: given.TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE: given.TEMPORAL_NAMESPACE, TEMPORAL_DEV_PORT: env.TEMPORAL_DEV_PORT });
  const problems = variableProblems(given, base.TEMPORAL_ADDRESS !== undefined);
  const file = problems.length === 0 ? configFile(given, env, problems) : undefined;
  if (file) problems.push(...mixedSources(given, file));
  if (problems.length > 0) throw invalid(problems);

  const profile = mergedProfile(given, file);
  problems.push(...profileProblems(profile, given, file));
  if (problems.length > 0) throw invalid(problems);

  const { connectionOptions } = toClientOptions(profile);
  const address = base.TEMPORAL_ADDRESS ?? `localhost:${base.TEMPORAL_DEV_PORT}`;
  const options = {
    address,
    ...(connectionOptions.tls !== undefined && { tls: connectionOptions.tls }),
    ...(connectionOptions.apiKey !== undefined && { apiKey: connectionOptions.apiKey }),
    ...(connectionOptions.metadata !== undefined && { metadata: connectionOptions.metadata }),
  };
  return {
    address,
    namespace: base.TEMPORAL_NAMESPACE,
    devServer: base.TEMPORAL_ADDRESS === undefined,
    security: securityOf(options.tls, options.apiKey !== undefined),
    ...(file && { profile: file.name }),
    connectionOptions: options,
    nativeConnectionOptions: options,
  };
}

/** What is wrong with the variables themselves, before any file is read. */
function variableProblems(given: Env, addressGiven: boolean): string[] {
  const problems: string[] = [];
  for (const name of Object.keys(given)) {
    if (name.startsWith('TEMPORAL_TLS') && !TLS_VARIABLES.has(name))
      problems.push(`${name} is not one of Temporal's TLS settings (docs/operations.md lists them)`);
  }
  for (const name of ['TEMPORAL_TLS', 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION']) {
    const value = given[name];
    if (value !== undefined && !BOOLEAN_VALUES.includes(value)) problems.push(`${name} must be true or false`);
  }
  if (given.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === 'true' || given.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION === '1') {
    problems.push(
      "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported by the Temporal TypeScript SDK: give the name in the server's certificate as TEMPORAL_TLS_SERVER_NAME instead",
    );
  }
  for (const item of PEM_ITEMS) {
    if (given[`${item.variable}_PATH`] && given[`${item.variable}_DATA`]) {
      problems.push(`${item.variable}_PATH and ${item.variable}_DATA are both set: give the ${item.what} one way`);
    }
  }
  if (given.TEMPORAL_API_KEY !== undefined && /\s/.test(given.TEMPORAL_API_KEY)) {
    problems.push('TEMPORAL_API_KEY must not contain spaces or line breaks');
  }
  // Nothing but TEMPORAL_ADDRESS says which server these settings are for.
  const secured = Object.keys(given).filter(
    (name) =>
      (name.startsWith('TEMPORAL_TLS') && !isFalse(given[name])) ||
      name.startsWith('TEMPORAL_GRPC_META_') ||
      ['TEMPORAL_API_KEY', 'TEMPORAL_PROFILE', 'TEMPORAL_CONFIG_FILE'].includes(name),
  );
  if (!addressGiven && secured.length > 0) {
    problems.push(`TEMPORAL_ADDRESS is required with ${secured.join(', ')} (unset, the engine uses npm start's own dev server, which takes none of them)`);
  }
  return problems;
}

const isFalse = (value: string | undefined) => value === 'false' || value === '0';

/** What is wrong with the settings once the environment is applied over the file's profile. */
function profileProblems(profile: ClientConfigProfile, given: Env, file: ProfileFile | undefined): string[] {
  const problems: string[] = [];
  const where = (item: PemItem) => sourceOf(item, given, file);
  const tls = profile.tls;
  const tlsOff = tls?.disabled === true;
  if (tlsOff) {
    for (const item of PEM_ITEMS) if (tls[item.field]) problems.push(`${tlsOffBy(given, file)}, but ${where(item)} gives a ${item.what}`);
    if (tls.serverName)
      problems.push(`${tlsOffBy(given, file)}, but ${given.TEMPORAL_TLS_SERVER_NAME ? 'TEMPORAL_TLS_SERVER_NAME' : `${file?.label} server_name`} is set`);
    if (profile.apiKey) problems.push(`${apiKeySource(given, file)} is sent only over TLS, but ${tlsOffBy(given, file)}`);
  }
  if (profile.apiKey && Object.keys(profile.grpcMeta ?? {}).some((header) => header.toLowerCase() === 'authorization')) {
    problems.push(
      `${apiKeySource(given, file)} and an authorization gRPC header (TEMPORAL_GRPC_META_AUTHORIZATION or grpc_meta) both set the Authorization header: give one`,
    );
  }
  if (file && file.profile.namespace !== undefined && given.TEMPORAL_NAMESPACE === undefined) {
    problems.push(`TEMPORAL_NAMESPACE is required: ${file.label} names a namespace, and the engine takes its namespace from TEMPORAL_NAMESPACE alone`);
  }
  const material = tls && !tlsOff ? readTlsMaterial(tls, where, problems) : {};
  const [certItem, keyItem] = PEM_ITEMS;
  if (tls?.clientCert && !tls.clientKey) problems.push(`${where(certItem)} gives a client certificate without its key (${keyItem.variable}_PATH or _DATA)`);
  if (tls?.clientKey && !tls.clientCert) problems.push(`${where(keyItem)} gives a client key without its certificate (${certItem.variable}_PATH or _DATA)`);
  if (material.clientCert && material.clientKey && !material.clientCert.checkPrivateKey(material.clientKey)) {
    problems.push(`${where(keyItem)} is not the key of the client certificate (${where(certItem)})`);
  }
  return problems;
}

/** For process entry points: a bad setting ends the process the way a bad src/config.ts value does. */
export function temporalConnectionOrExit(env: Env = process.env): TemporalConnection {
  return exitOnConfigError(() => temporalConnection(env));
}

/** One line for a log or a banner: where, which namespace, and how (never a secret). */
export function describeTemporalConnection(connection: TemporalConnection): string {
  const profile = connection.profile === undefined ? '' : `, profile "${connection.profile}"`;
  return `${connection.address} (namespace ${connection.namespace}; ${connection.security}${profile})`;
}

/**
 * What a failed connection's message most likely means, in terms of the settings; undefined when it
 * is not clear. The SDK's messages name TLS alerts and certificate errors; each maps to the setting
 * that fixes it.
 */
export function connectionHint(message: string, connection: TemporalConnection): string | undefined {
  if (/CertificateRequired|certificate required/i.test(message)) {
    return 'the server asks for a client certificate: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA forms)';
  }
  // TLS 1.3 ends the handshake before the server has seen a certificate; its refusal then arrives as
  // the connection closing, with no alert to name.
  const clientCertificate = connection.security.endsWith('with client certificate');
  if (connection.security !== 'plain' && !clientCertificate && /connection closed|operation was cancell?ed|broken pipe|connection reset/i.test(message)) {
    return 'the server closed the connection after the TLS handshake: if it requires mutual TLS, set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH (or their _DATA forms)';
  }
  if (/UnknownCA|unknown ca|BadCertificate|bad certificate|CertificateUnknown|certificate unknown|DecryptError/i.test(message)) {
    return 'the server refused the client certificate: it is not signed by a CA the server trusts';
  }
  if (/UnknownIssuer|unable to get local issuer|self.signed/i.test(message)) {
    return "the server's certificate is not signed by a CA this process trusts: set TEMPORAL_TLS_SERVER_CA_CERT_PATH";
  }
  if (/NotValidForName|does not match|hostname mismatch|IP address mismatch/i.test(message)) {
    return "the server's certificate is for another name: set TEMPORAL_TLS_SERVER_NAME to the name in it";
  }
  if (connection.security !== 'plain' && /InvalidContentType|wrong version number|corrupt message|received corrupt/i.test(message)) {
    return 'the server does not speak TLS there: unset the TEMPORAL_TLS settings, or use its TLS address';
  }
  if (connection.security === 'plain' && /frame with invalid size|http2 error|connection reset|broken pipe|h2 protocol error/i.test(message)) {
    return 'the server may want TLS: set TEMPORAL_TLS=true (and its CA, TEMPORAL_TLS_SERVER_CA_CERT_PATH)';
  }
  return undefined;
}

function securityOf(tls: ConnectionOptions['tls'], apiKey: boolean): TemporalSecurity {
  const clientCertificate = typeof tls === 'object' && tls !== null && tls.clientCertPair !== undefined;
  if (apiKey) return clientCertificate ? 'API key over TLS with client certificate' : 'API key over TLS';
  if (clientCertificate) return 'TLS with client certificate';
  return tls ? 'TLS' : 'plain';
}

const invalid = (problems: string[]) => new ConfigError(`Invalid configuration: ${problems.join('; ')}`);

/**
 * The file's profile overridden by the environment, by @temporalio/envconfig itself: it reads the
 * TEMPORAL_* variables and applies them over the profile the way Temporal's other tools do.
 */
function mergedProfile(given: Env, file: ProfileFile | undefined): ClientConfigProfile {
  const overrideEnvVars = Object.fromEntries(
    Object.entries(given).filter(([name]) => name !== 'TEMPORAL_CONFIG_FILE' && name !== 'TEMPORAL_PROFILE'),
  ) as Record<string, string>;
  if (file === undefined) return loadClientConfigProfile({ disableFile: true, overrideEnvVars });
  const configSource = { data: clientConfigToToml({ profiles: { [file.name]: file.profile } }) };
  return loadClientConfigProfile({ configSource, profile: file.name, overrideEnvVars });
}

/** Which variable gave this PEM item: the environment's overrides the file's. */
function sourceOf(item: PemItem, given: Env, file: ProfileFile | undefined): string {
  for (const suffix of ['_PATH', '_DATA']) if (given[`${item.variable}${suffix}`] !== undefined) return `${item.variable}${suffix}`;
  const source = file?.profile.tls?.[item.field];
  return `${file?.label ?? 'the config file'} ${item.toml}${source && 'path' in source ? '_path' : '_data'}`;
}

const tlsOffBy = (given: Env, file: ProfileFile | undefined) =>
  given.TEMPORAL_TLS !== undefined ? 'TEMPORAL_TLS is false' : `${file?.label ?? 'the config file'} has tls.disabled`;
const apiKeySource = (given: Env, file: ProfileFile | undefined) =>
  given.TEMPORAL_API_KEY !== undefined ? 'TEMPORAL_API_KEY' : `${file?.label ?? 'the config file'} api_key`;
