import { createSecureServer, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { TestPki } from './certificates.js';

/** One gRPC call as the server saw it, with the TLS session it came on. */
export interface SeenCall {
  path: string;
  /** The name the client asked for (SNI). */
  serverName: string | false;
  /** Whether the client presented a certificate the server's CA signed. */
  clientAuthorized: boolean;
  /** The client certificate's subject common name, when it presented one. */
  clientName?: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface TlsGrpcServer {
  address: string;
  calls: SeenCall[];
  /** Clients that gave up during the handshake (e.g. they do not trust the server's certificate). */
  handshakeFailures(): number;
  close(): Promise<void>;
}

/**
 * A TLS endpoint that speaks just enough gRPC for a Temporal SDK to connect: it records each call
 * with the TLS session it came on, answers GetSystemInfo (what both SDK connection kinds call to
 * connect) with an empty answer, and every other call UNIMPLEMENTED. It asks for a client
 * certificate and accepts a call with or without one, so a test can see what the client presented.
 */
export async function startTlsGrpcServer(pki: TestPki): Promise<TlsGrpcServer> {
  const calls: SeenCall[] = [];
  let failures = 0;
  const sessions = new Set<ServerHttp2Session>();
  const server: Http2SecureServer = createSecureServer({
    key: pki.read(pki.serverKey),
    cert: pki.read(pki.serverCert),
    ca: pki.read(pki.caCert),
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: false,
  });
  server.on('tlsClientError', () => failures++);
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    const socket = stream.session?.socket as TLSSocket | undefined;
    const peer = socket?.getPeerCertificate();
    calls.push({
      path: String(headers[':path']),
      serverName: socket?.servername ?? false,
      clientAuthorized: socket?.authorized ?? false,
      ...(peer?.subject?.CN !== undefined && { clientName: String(peer.subject.CN) }),
      headers: { ...headers },
    });
    stream.on('error', () => undefined);
    stream.resume();
    if (String(headers[':path']).endsWith('/GetSystemInfo')) {
      // An empty GetSystemInfoResponse: one uncompressed gRPC message of length 0, then status OK.
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.alloc(5));
    } else {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'not a Temporal server' }, { endStream: true });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    calls,
    handshakeFailures: () => failures,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Connections the SDKs keep alive would hold close() open.
        for (const session of sessions) session.destroy();
      }),
  };
}
