import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts, portRange } from './helpers/ports.js';

describe('freePorts', () => {
  it('gives distinct ports below the ephemeral range that can be listened on', async () => {
    const { low, high } = portRange();
    const ports = await freePorts(20);
    expect(new Set(ports).size).toBe(20);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(low);
      expect(port).toBeLessThanOrEqual(high);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ports[0], '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  });

  it('never gives a port something is listening on', async () => {
    const { low, high } = portRange();
    const held = await freePorts(200);
    const servers = await Promise.all(
      held.map(
        (port) =>
          new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
            const server = createServer();
            server.once('error', reject);
            server.listen(port, '127.0.0.1', () => resolve(server));
          }),
      ),
    );
    try {
      const again = await freePorts(200);
      expect(again.filter((port) => held.includes(port))).toEqual([]);
      expect(Math.min(...again)).toBeGreaterThanOrEqual(low);
      expect(Math.max(...again)).toBeLessThanOrEqual(high);
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });
});
