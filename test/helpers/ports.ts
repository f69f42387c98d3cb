import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/**
 * Ports to choose from: below the kernel's ephemeral range. A port the kernel hands out for `listen(0)`
 * can be handed out again, after we release it, to another process that asks the same way — the dev
 * server's internal services do — and then the process we meant it for finds it taken. Nothing asks
 * the kernel for a port in this range.
 */
export function portRange(): { low: number; high: number } {
  let ephemeralLow = 32_768;
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && Number.isInteger(low) && low > 12_000) ephemeralLow = low;
  } catch {
    // not Linux: the usual range
  }
  return { low: 10_000, high: ephemeralLow - 1 };
}

const listen = (port: number): Promise<Server | undefined> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

/** Ports free right now, for processes a test starts beside the suite's own dev server; distinct. */
export async function freePorts(count: number): Promise<number[]> {
  const { low, high } = portRange();
  const held: Server[] = [];
  const ports: number[] = [];
  try {
    for (let tries = 0; ports.length < count; tries += 1) {
      if (tries > 1_000) throw new Error(`no ${count} free ports between ${low} and ${high}`);
      const port = low + Math.floor(Math.random() * (high - low + 1));
      if (ports.includes(port)) continue;
      const server = await listen(port);
      if (!server) continue;
      held.push(server);
      ports.push(port);
    }
  } finally {
    await Promise.all(held.map((server) => new Promise((resolve) => server.close(resolve))));
  }
  return ports;
}
