import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate and its key, as PEM files. */
export interface CertificatePair {
  cert: string;
  key: string;
}

export interface TestCertificates {
  /** The CA that signs every certificate below. */
  ca: string;
  /** The frontend's server certificate, for `serverName` (and localhost / 127.0.0.1). */
  server: CertificatePair;
  serverName: string;
  /** A client certificate the frontend accepts (signed by `ca`). */
  client: CertificatePair;
  /** A client certificate signed by another CA: the frontend must refuse it. */
  stranger: CertificatePair;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA (RSA 2048 is quick to make and every TLS stack takes it). */
function makeCa(dir: string, name: string): CertificatePair {
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', pair.key, '-out', pair.cert], dir);
  return pair;
}

function signed(dir: string, name: string, ca: CertificatePair, extensions: string): CertificatePair {
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', pair.key, '-out', csr], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', pair.cert], dir);
  return pair;
}

/** Makes, with openssl, a CA, the frontend's certificate, a client certificate and a stranger's one. */
export function makeTestCertificates(dir: string, serverName = 'temporal-frontend.test'): TestCertificates {
  mkdirSync(dir, { recursive: true });
  const ca = makeCa(dir, 'refundflow-test-ca');
  const other = makeCa(dir, 'other-ca');
  const server = signed(dir, 'frontend', ca, `subjectAltName=DNS:${serverName},DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n`);
  const client = signed(dir, 'client', ca, 'extendedKeyUsage=clientAuth\n');
  const stranger = signed(dir, 'stranger', other, 'extendedKeyUsage=clientAuth\n');
  return { ca: ca.cert, server, serverName, client, stranger };
}
