import { describe, expect, it } from 'vitest';
import { connectionHint, temporalConnection } from '../../src/wiring/temporal-connection.js';
import { makeTestPki } from '../helpers/certificates.js';

/** What a failed connection's message is turned into: the setting to change, for each way the SDK words it. */
describe('connectionHint', () => {
  const pki = makeTestPki();
  const tls = temporalConnection({ TEMPORAL_ADDRESS: 'temporal.test:7233', TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert });
  const mtls = temporalConnection({
    TEMPORAL_ADDRESS: 'temporal.test:7233',
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
  });
  const plain = temporalConnection({ TEMPORAL_ADDRESS: 'temporal.test:7233' });
  const sdk = (inner: string) => `Failed to call GetSystemInfo: code: 'Unknown error', message: "transport error", source: ${inner}`;

  it('a server that wants a client certificate, whether it says so (TLS alert) or closes the connection (TLS 1.3)', () => {
    const wanted = /set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH/;
    expect(connectionHint(sdk('hyper::Error(Io, Custom { kind: InvalidData, error: "received fatal alert: CertificateRequired" })'), tls)).toMatch(wanted);
    expect(connectionHint(sdk('tonic::transport::Error(Transport, hyper::Error(Canceled, "connection closed"))'), tls)).toMatch(wanted);
    // With a certificate given, a closed connection is not blamed on a missing one.
    expect(connectionHint(sdk('tonic::transport::Error(Transport, hyper::Error(Canceled, "connection closed"))'), mtls)).toBeUndefined();
  });

  it('a refused client certificate, an untrusted or misnamed server certificate, TLS against plain and plain against TLS', () => {
    expect(connectionHint(sdk('received fatal alert: UnknownCA'), mtls)).toMatch(/refused the client certificate/);
    expect(connectionHint(sdk('invalid peer certificate: UnknownIssuer'), tls)).toMatch(/TEMPORAL_TLS_SERVER_CA_CERT_PATH/);
    expect(connectionHint(sdk('invalid peer certificate: NotValidForName'), tls)).toMatch(/TEMPORAL_TLS_SERVER_NAME/);
    expect(connectionHint(sdk('received corrupt message of type InvalidContentType'), tls)).toMatch(/does not speak TLS/);
    expect(connectionHint(sdk('h2 protocol error: http2 error: frame with invalid size'), plain)).toMatch(/TEMPORAL_TLS=true/);
    expect(connectionHint(sdk('tcp connect error: Connection refused'), plain)).toBeUndefined();
  });
});
