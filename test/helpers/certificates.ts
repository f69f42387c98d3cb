import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throwaway certificate authority with a server and a client certificate, as PEM files. */
export interface TestPki {
  dir: string;
  /** Paths of the PEM files. */
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A valid key that belongs to no certificate here. */
  strayKey: string;
  /** The names the server certificate is for (also IP 127.0.0.1). */
  serverNames: string[];
  /** The client certificate's subject common name. */
  clientName: string;
  read(path: string): string;
}

/**
 * Made with openssl, P-256 keys (PKCS#8, unencrypted), valid for two days: what Temporal's mTLS
 * expects of a CA, a frontend and a worker. Each call makes a new authority in a new directory.
 */
export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'refundflow-pki-'));
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const newKey = (name: string) => openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', at(name));
  const serverNames = ['temporal.test', 'localhost'];
  const clientName = 'refundflow-worker';

  newKey('ca.key');
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    at('ca.key'),
    '-out',
    at('ca.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=refundflow test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const issue = (name: string, subject: string, extensions: string) => {
    newKey(`${name}.key`);
    openssl('req', '-new', '-key', at(`${name}.key`), '-out', at(`${name}.csr`), '-subj', `/CN=${subject}`);
    writeFileSync(at(`${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.pem'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-out',
      at(`${name}.pem`),
      '-days',
      '2',
      '-extfile',
      at(`${name}.ext`),
    );
  };
  issue('server', serverNames[0] as string, `subjectAltName=${serverNames.map((n) => `DNS:${n}`).join(',')},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  issue('client', clientName, 'extendedKeyUsage=clientAuth\n');
  newKey('stray.key');

  return {
    dir,
    caCert: at('ca.pem'),
    serverCert: at('server.pem'),
    serverKey: at('server.key'),
    clientCert: at('client.pem'),
    clientKey: at('client.key'),
    strayKey: at('stray.key'),
    serverNames,
    clientName,
    read: (path) => readFileSync(path, 'utf8'),
  };
}

/** A certificate and its key, as PEM files. */
export interface CertificatePair {
  cert: string;
  key: string;
}

/** What a Temporal cluster with mutual TLS on its frontend needs, and a client it must refuse. */
export interface TestCertificates {
  /** The CA that signs the frontend's and the client's certificates. */
  ca: string;
  /** The frontend's server certificate, for `serverName` (and localhost / 127.0.0.1). */
  server: CertificatePair;
  serverName: string;
  /** A client certificate the frontend accepts. */
  client: CertificatePair;
  /** A client certificate another CA signed: the frontend must refuse it. */
  stranger: CertificatePair;
  /** The folders the files are in, to remove at the end. */
  dirs: string[];
}

/** Two test authorities (makeTestPki): the cluster's, and a stranger's whose client the cluster refuses. */
export function makeTestCertificates(): TestCertificates {
  const pki = makeTestPki();
  const other = makeTestPki();
  return {
    ca: pki.caCert,
    server: { cert: pki.serverCert, key: pki.serverKey },
    serverName: pki.serverNames[0] ?? 'temporal.test',
    client: { cert: pki.clientCert, key: pki.clientKey },
    stranger: { cert: other.clientCert, key: other.clientKey },
    dirs: [pki.dir, other.dir],
  };
}
