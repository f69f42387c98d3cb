import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.js';
import { describeTemporalConnection, temporalConnection, type Env } from '../../src/wiring/temporal-connection.js';
import { makeTestPki, type TestPki } from '../helpers/certificates.js';

/**
 * The Temporal connection settings (src/wiring/temporal-connection.ts) on real certificate files made
 * by openssl and real TOML files: the options both connection kinds get, and every setting refused,
 * each by the variable's name and without its value.
 */

const API_KEY = 'tk_live_Zm9vYmFyYmF6cXV4LXNlY3JldC1hcGkta2V5';
const ADDRESS = 'temporal.test:7233';

let pki: TestPki;
let dir: string;
/** Lines of the client key's PEM body: none may show in an error. */
let keyLines: string[];

const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

beforeAll(() => {
  pki = makeTestPki();
  dir = mkdtempSync(join(tmpdir(), 'refundflow-connection-'));
  keyLines = pki
    .read(pki.clientKey)
    .split('\n')
    .filter((line) => line && !line.startsWith('-----'));
});
afterAll(() => {
  for (const path of [pki.dir, dir]) rmSync(path, { recursive: true, force: true });
});

function refused(env: Env): string {
  try {
    temporalConnection(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.message;
  }
  throw new Error('the settings were accepted');
}

describe('temporalConnection: what each setting connects with', () => {
  it("without TEMPORAL_ADDRESS: npm start's dev server, plainly, on TEMPORAL_DEV_PORT", () => {
    expect(temporalConnection({})).toEqual({
      address: 'localhost:7233',
      namespace: 'default',
      devServer: true,
      security: 'plain',
      connectionOptions: { address: 'localhost:7233' },
      nativeConnectionOptions: { address: 'localhost:7233' },
    });
    expect(temporalConnection({ TEMPORAL_DEV_PORT: '17233' }).address).toBe('localhost:17233');
  });

  it('a server and namespace alone: plain, as before', () => {
    const connection = temporalConnection({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_NAMESPACE: 'payments' });
    expect(connection).toMatchObject({ address: ADDRESS, namespace: 'payments', devServer: false, security: 'plain' });
    expect(connection.connectionOptions).toEqual({ address: ADDRESS });
  });

  it('counts an empty value as unset (compose passes VAR: "" for an optional setting)', () => {
    const empty = { TEMPORAL_API_KEY: '', TEMPORAL_TLS: '', TEMPORAL_TLS_CLIENT_CERT_PATH: '', TEMPORAL_TLS_CLIENT_KEY_DATA: '', TEMPORAL_PROFILE: '' };
    expect(temporalConnection(empty).security).toBe('plain');
    expect(temporalConnection({ ...empty, TEMPORAL_ADDRESS: ADDRESS }).connectionOptions).toEqual({ address: ADDRESS });
  });

  it("TEMPORAL_TLS=true: TLS with the system's CAs; TEMPORAL_TLS=false: plain", () => {
    const tls = temporalConnection({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS: 'true' });
    expect(tls.security).toBe('TLS');
    expect(tls.connectionOptions.tls).toBeTruthy();
    expect(tls.connectionOptions.tls).not.toHaveProperty('clientCertPair', expect.anything());
    expect(temporalConnection({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS: 'false' }).security).toBe('plain');
  });

  it('a server CA and name: TLS trusting that CA, checking that name', () => {
    const connection = temporalConnection({
      TEMPORAL_ADDRESS: '10.0.0.5:7233',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
    });
    expect(connection.security).toBe('TLS');
    expect(connection.connectionOptions.tls).toMatchObject({
      serverNameOverride: 'temporal.test',
      serverRootCACertificate: new Uint8Array(readFileSync(pki.caCert)),
    });
  });

  it.each([
    ['paths', () => ({ TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey })],
    ['data', () => ({ TEMPORAL_TLS_CLIENT_CERT_DATA: pki.read(pki.clientCert), TEMPORAL_TLS_CLIENT_KEY_DATA: pki.read(pki.clientKey) })],
  ])('a client certificate and key as %s: TLS with client certificate, for both connection kinds', (_, pair) => {
    const connection = temporalConnection({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, ...pair() });
    expect(connection.security).toBe('TLS with client certificate');
    const clientCertPair = { crt: new Uint8Array(readFileSync(pki.clientCert)), key: new Uint8Array(readFileSync(pki.clientKey)) };
    expect(connection.connectionOptions.tls).toMatchObject({ clientCertPair });
    expect(connection.nativeConnectionOptions.tls).toMatchObject({ clientCertPair });
    expect(connection.nativeConnectionOptions.address).toBe(ADDRESS);
  });

  it('an API key: TLS on, the key as a string for both kinds; with a client certificate too', () => {
    const connection = temporalConnection({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_NAMESPACE: 'payments.a1b2c', TEMPORAL_API_KEY: API_KEY });
    expect(connection.security).toBe('API key over TLS');
    expect(connection.connectionOptions).toEqual({ address: ADDRESS, tls: true, apiKey: API_KEY });
    expect(connection.nativeConnectionOptions).toEqual({ address: ADDRESS, tls: true, apiKey: API_KEY });
    const both = temporalConnection({
      TEMPORAL_ADDRESS: ADDRESS,
      TEMPORAL_API_KEY: API_KEY,
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
    });
    expect(both.security).toBe('API key over TLS with client certificate');
  });

  it('gRPC headers from TEMPORAL_GRPC_META_*', () => {
    const connection = temporalConnection({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS: 'true', TEMPORAL_GRPC_META_X_ROUTE: 'eu-1' });
    expect(connection.connectionOptions.metadata).toEqual({ 'x-route': 'eu-1' });
  });

  it('describes the way without a secret', () => {
    const described = describeTemporalConnection(temporalConnection({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_NAMESPACE: 'payments', TEMPORAL_API_KEY: API_KEY }));
    expect(described).toBe(`${ADDRESS} (namespace payments; API key over TLS)`);
    expect(describeTemporalConnection(temporalConnection({}))).toBe('localhost:7233 (namespace default; plain)');
  });
});

describe('temporalConnection: a profile of a Temporal config file', () => {
  const profiles = () =>
    file(
      'temporal.toml',
      [
        '[profile.prod]',
        `namespace = "payments"`,
        `api_key = "${API_KEY}"`,
        '[profile.prod.tls]',
        `server_ca_cert_path = "${pki.caCert}"`,
        'server_name = "temporal.test"',
        '[profile.mtls.tls]',
        `client_cert_path = "${pki.clientCert}"`,
        `client_key_path = "${pki.clientKey}"`,
      ].join('\n'),
    );

  it('TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE: the profile, with the environment over it', () => {
    const env = { TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_NAMESPACE: 'payments', TEMPORAL_CONFIG_FILE: profiles(), TEMPORAL_PROFILE: 'prod' };
    const connection = temporalConnection(env);
    expect(connection).toMatchObject({
      profile: 'prod',
      security: 'API key over TLS',
      connectionOptions: { apiKey: API_KEY, tls: { serverNameOverride: 'temporal.test' } },
    });
    expect(temporalConnection({ ...env, TEMPORAL_TLS_SERVER_NAME: 'other.test' }).connectionOptions.tls).toMatchObject({ serverNameOverride: 'other.test' });
    expect(temporalConnection({ ...env, TEMPORAL_PROFILE: 'mtls', TEMPORAL_NAMESPACE: 'default' }).security).toBe('TLS with client certificate');
    expect(describeTemporalConnection(connection)).toBe(`${ADDRESS} (namespace payments; API key over TLS, profile "prod")`);
  });

  it("TEMPORAL_PROFILE alone: the default file under the given environment's config directory", () => {
    const home = mkdtempSync(join(tmpdir(), 'refundflow-home-'));
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(join(home, '.config', 'temporalio', 'temporal.toml'), readFileSync(profiles()));
    expect(temporalConnection({ HOME: home, TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_PROFILE: 'mtls' })).toMatchObject({
      profile: 'mtls',
      security: 'TLS with client certificate',
    });
  });

  it('never reads the personal default file unasked', () => {
    const home = mkdtempSync(join(tmpdir(), 'refundflow-home-'));
    mkdirSync(join(home, '.config', 'temporalio'), { recursive: true });
    writeFileSync(join(home, '.config', 'temporalio', 'temporal.toml'), `[profile.default]\napi_key = "${API_KEY}"\n`);
    expect(temporalConnection({ HOME: home }).security).toBe('plain');
    expect(temporalConnection({ HOME: home, TEMPORAL_ADDRESS: ADDRESS }).security).toBe('plain');
  });
});

describe("temporalConnection: refused, by the variable's name, never its value", () => {
  const encryptedKey = () => {
    const path = join(dir, 'encrypted.key');
    execFileSync('openssl', ['pkcs8', '-topk8', '-in', pki.clientKey, '-out', path, '-passout', 'pass:hunter2hunter2']);
    return path;
  };
  const mtls = () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey });
  const cases: Array<{ name: string; env: () => Env; says: RegExp }> = [
    { name: 'an API key without TEMPORAL_ADDRESS', env: () => ({ TEMPORAL_API_KEY: API_KEY }), says: /TEMPORAL_ADDRESS is required with TEMPORAL_API_KEY/ },
    {
      name: 'a client certificate without TEMPORAL_ADDRESS',
      env: () => ({ TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert, TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey }),
      says: /TEMPORAL_ADDRESS is required with TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH/,
    },
    { name: 'TEMPORAL_TLS=true without TEMPORAL_ADDRESS', env: () => ({ TEMPORAL_TLS: 'true' }), says: /TEMPORAL_ADDRESS is required with TEMPORAL_TLS / },
    { name: 'a profile without TEMPORAL_ADDRESS', env: () => ({ TEMPORAL_PROFILE: 'prod' }), says: /TEMPORAL_ADDRESS is required with TEMPORAL_PROFILE/ },
    {
      name: 'a client certificate without its key',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert }),
      says: /TEMPORAL_TLS_CLIENT_CERT_PATH gives a client certificate without its key/,
    },
    {
      name: 'a client key without its certificate',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CLIENT_KEY_DATA: pki.read(pki.clientKey) }),
      says: /TEMPORAL_TLS_CLIENT_KEY_DATA gives a client key without its certificate/,
    },
    {
      name: "a key that is not the certificate's",
      env: () => ({ ...mtls(), TEMPORAL_TLS_CLIENT_KEY_PATH: pki.strayKey }),
      says: /TEMPORAL_TLS_CLIENT_KEY_PATH is not the key of the client certificate \(TEMPORAL_TLS_CLIENT_CERT_PATH\)/,
    },
    {
      name: 'a path that does not exist',
      env: () => ({ ...mtls(), TEMPORAL_TLS_CLIENT_CERT_PATH: join(dir, 'missing.pem') }),
      says: /TEMPORAL_TLS_CLIENT_CERT_PATH names a file that does not exist/,
    },
    {
      name: 'a path that is a directory',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH: dir }),
      says: /TEMPORAL_TLS_SERVER_CA_CERT_PATH names a directory/,
    },
    {
      name: 'a key where the certificate goes',
      env: () => ({ ...mtls(), TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientKey }),
      says: /TEMPORAL_TLS_CLIENT_CERT_PATH is not a PEM certificate/,
    },
    {
      name: 'a certificate where the key goes',
      env: () => ({ ...mtls(), TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientCert }),
      says: /TEMPORAL_TLS_CLIENT_KEY_PATH is not an unencrypted PEM private key/,
    },
    {
      name: 'an encrypted key',
      env: () => ({ ...mtls(), TEMPORAL_TLS_CLIENT_KEY_PATH: encryptedKey() }),
      says: /TEMPORAL_TLS_CLIENT_KEY_PATH is not an unencrypted PEM private key/,
    },
    {
      name: 'key data that is not PEM (base64 of it)',
      env: () => ({
        ...mtls(),
        TEMPORAL_TLS_CLIENT_KEY_PATH: undefined,
        TEMPORAL_TLS_CLIENT_KEY_DATA: Buffer.from(pki.read(pki.clientKey)).toString('base64'),
      }),
      says: /TEMPORAL_TLS_CLIENT_KEY_DATA is not PEM/,
    },
    {
      name: 'a CA that is not a certificate',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_DATA: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' }),
      says: /TEMPORAL_TLS_SERVER_CA_CERT_DATA is not a PEM certificate/,
    },
    {
      name: 'both _PATH and _DATA of the key',
      env: () => ({ ...mtls(), TEMPORAL_TLS_CLIENT_KEY_DATA: pki.read(pki.clientKey) }),
      says: /TEMPORAL_TLS_CLIENT_KEY_PATH and TEMPORAL_TLS_CLIENT_KEY_DATA are both set/,
    },
    {
      name: 'both _PATH and _DATA of the CA',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert, TEMPORAL_TLS_SERVER_CA_CERT_DATA: pki.read(pki.caCert) }),
      says: /TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_CA_CERT_DATA are both set/,
    },
    {
      name: 'TEMPORAL_TLS neither true nor false',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS: 'yes' }),
      says: /TEMPORAL_TLS must be true or false/,
    },
    {
      name: 'TEMPORAL_TLS=false with a client certificate',
      env: () => ({ ...mtls(), TEMPORAL_TLS: 'false' }),
      says: /TEMPORAL_TLS is false, but TEMPORAL_TLS_CLIENT_CERT_PATH gives a client certificate/,
    },
    {
      name: 'an API key with TLS off',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' }),
      says: /TEMPORAL_API_KEY is sent only over TLS, but TEMPORAL_TLS is false/,
    },
    {
      name: 'an API key and an authorization header',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_API_KEY: API_KEY, TEMPORAL_GRPC_META_AUTHORIZATION: `Bearer ${API_KEY}` }),
      says: /TEMPORAL_API_KEY and an authorization gRPC header .* both set the Authorization header/,
    },
    {
      name: 'an API key with a line break',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_API_KEY: `${API_KEY}\n` }),
      says: /TEMPORAL_API_KEY must not contain spaces or line breaks/,
    },
    {
      name: 'host verification off, which the TypeScript SDK cannot do',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' }),
      says: /TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported/,
    },
    {
      name: "another tool's TLS variable",
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_TLS_CERT: pki.clientCert }),
      says: /TEMPORAL_TLS_CERT is not one of Temporal's TLS settings/,
    },
    {
      name: 'an address that is not host:port',
      env: () => ({ TEMPORAL_ADDRESS: 'https://temporal.test', TEMPORAL_API_KEY: API_KEY }),
      says: /TEMPORAL_ADDRESS must be host:port/,
    },
    {
      name: 'a config file that does not exist',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_CONFIG_FILE: join(dir, 'nowhere.toml') }),
      says: /TEMPORAL_CONFIG_FILE names a file that does not exist/,
    },
    {
      name: 'a config file that is not TOML (its lines, an API key among them, are not quoted)',
      env: () => ({
        TEMPORAL_ADDRESS: ADDRESS,
        TEMPORAL_CONFIG_FILE: file('broken.toml', `[profile.default]\napi_key = "${API_KEY}"\nnamespace = payments\n`),
      }),
      says: /TEMPORAL_CONFIG_FILE is not valid TOML \(line 3, column \d+\)/,
    },
    {
      name: 'a profile that TEMPORAL_CONFIG_FILE does not have',
      env: () => ({
        TEMPORAL_ADDRESS: ADDRESS,
        TEMPORAL_CONFIG_FILE: file('one.toml', '[profile.prod]\nnamespace = "payments"\n'),
        TEMPORAL_PROFILE: 'staging',
      }),
      says: /TEMPORAL_PROFILE names profile "staging", which TEMPORAL_CONFIG_FILE does not have/,
    },
    {
      name: 'a profile that the default file does not have (no default file at all)',
      env: () => ({ HOME: mkdtempSync(join(tmpdir(), 'refundflow-home-')), TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_PROFILE: 'prod' }),
      says: /TEMPORAL_PROFILE names profile "prod", which the default Temporal config file/,
    },
    {
      name: 'a config file without a default profile, and no TEMPORAL_PROFILE',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_CONFIG_FILE: file('nodefault.toml', '[profile.prod]\nnamespace = "payments"\n') }),
      says: /TEMPORAL_CONFIG_FILE has no profile "default": name the one to use with TEMPORAL_PROFILE/,
    },
    {
      name: 'a profile giving a certificate both ways',
      env: () => ({
        TEMPORAL_ADDRESS: ADDRESS,
        TEMPORAL_CONFIG_FILE: file('both.toml', `[profile.default.tls]\nclient_cert_path = "${pki.clientCert}"\nclient_cert_data = "x"\n`),
      }),
      says: /TEMPORAL_CONFIG_FILE gives both client_cert_path and client_cert_data in one profile/,
    },
    {
      name: "a profile's key path beside the environment's key data",
      env: () => ({
        TEMPORAL_ADDRESS: ADDRESS,
        TEMPORAL_CONFIG_FILE: file('keypath.toml', `[profile.default.tls]\nclient_cert_path = "${pki.clientCert}"\nclient_key_path = "${pki.clientKey}"\n`),
        TEMPORAL_TLS_CLIENT_KEY_DATA: pki.read(pki.clientKey),
      }),
      says: /TEMPORAL_TLS_CLIENT_KEY_DATA is set while TEMPORAL_CONFIG_FILE \(profile "default"\) gives client_key_path/,
    },
    {
      name: "a profile's certificate path that does not exist",
      env: () => ({
        TEMPORAL_ADDRESS: ADDRESS,
        TEMPORAL_CONFIG_FILE: file(
          'missing.toml',
          `[profile.default.tls]\nclient_cert_path = "${join(dir, 'gone.pem')}"\nclient_key_path = "${pki.clientKey}"\n`,
        ),
      }),
      says: /TEMPORAL_CONFIG_FILE \(profile "default"\) client_cert_path names a file that does not exist/,
    },
    {
      name: 'a profile naming a namespace, without TEMPORAL_NAMESPACE',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_CONFIG_FILE: file('ns.toml', '[profile.default]\nnamespace = "payments"\n') }),
      says: /TEMPORAL_NAMESPACE is required: TEMPORAL_CONFIG_FILE \(profile "default"\) names a namespace/,
    },
    {
      name: 'a profile whose api_key is not a string',
      env: () => ({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_CONFIG_FILE: file('number.toml', '[profile.default]\napi_key = 42\n') }),
      says: /TEMPORAL_CONFIG_FILE \(profile "default"\) has api_key that is not a string/,
    },
  ];

  it.each(cases)('$name', ({ env, says }) => {
    const message = refused(env());
    expect(message).toMatch(/^Invalid configuration: /);
    expect(message).toMatch(says);
    expect(message).not.toContain('\n');
    expect(message).not.toContain(API_KEY);
    for (const line of keyLines) expect(message).not.toContain(line);
  });
});
