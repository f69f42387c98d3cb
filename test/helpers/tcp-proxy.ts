import { createConnection, createServer, type Socket, type AddressInfo } from 'node:net';

export interface TcpProxy {
  address: string;
  /** Holds every byte in both directions from now on: calls through the proxy hang, unanswered. */
  hold(): void;
  /**
   * Whether a client sent `text` through the proxy since hold(), on one connection: what a held call
   * asked for (a gRPC request over plain HTTP/2 carries its strings, a workflow id among them, as
   * they are).
   */
  heldFromClientIncludes(text: string): boolean;
  close(): Promise<void>;
}

/** A TCP proxy to `target` (host:port) that can be made to go silent, like a network that stalls. */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  let held = false;
  const sockets = new Set<Socket>();
  /** Per client connection, what it sent while held. */
  const heldBytes = new Map<Socket, Buffer[]>();
  const server = createServer((client) => {
    const upstream = createConnection({ host: host === 'localhost' ? '127.0.0.1' : host, port });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.on('data', (chunk: Buffer) => {
      if (!held) upstream.write(chunk);
      else heldBytes.set(client, [...(heldBytes.get(client) ?? []), chunk]);
    });
    upstream.on('data', (chunk) => {
      if (!held) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold() {
      held = true;
    },
    heldFromClientIncludes(text) {
      return [...heldBytes.values()].some((chunks) => Buffer.concat(chunks).includes(text));
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
