import type { FastifyInstance } from 'fastify';
import { createMwdSandbox } from './mwd.js';
import { createOenSandbox } from './oen.js';

import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN } from '../providers/sandbox-credentials.js';

export { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN };

export interface SandboxOptions {
  oenPort: number;
  mwdPort: number;
  oenToken?: string;
  mwdToken?: string;
  /** Loopback by default: the emulators are for this machine only. */
  host?: string;
}

export interface RunningSandboxes {
  oenUrl: string;
  mwdUrl: string;
  oen: ReturnType<typeof createOenSandbox>;
  mwd: ReturnType<typeof createMwdSandbox>;
  close(): Promise<void>;
}

async function listen(app: FastifyInstance, port: number, host: string, name: string): Promise<string> {
  try {
    await app.listen({ port, host });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`Port ${port} for the ${name} sandbox is already in use (set SANDBOX_${name.toUpperCase()}_PORT)`);
    }
    throw err;
  }
  const address = app.server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`;
}

/** Both emulators on their ports (0 picks a free one), with the documents' examples seeded. */
export async function startSandboxes({
  oenPort,
  mwdPort,
  oenToken = SANDBOX_TOKEN,
  mwdToken = SANDBOX_TOKEN,
  host = '127.0.0.1',
}: SandboxOptions): Promise<RunningSandboxes> {
  const oen = createOenSandbox({ token: oenToken, merchantId: SANDBOX_OEN_MERCHANT_ID });
  const mwd = createMwdSandbox({ token: mwdToken });
  const oenUrl = await listen(oen.app, oenPort, host, 'Oen');
  let mwdUrl: string;
  try {
    mwdUrl = await listen(mwd.app, mwdPort, host, 'Mwd');
  } catch (err) {
    await oen.app.close();
    throw err;
  }
  return {
    oenUrl,
    mwdUrl,
    oen,
    mwd,
    async close() {
      await Promise.all([oen.app.close(), mwd.app.close()]);
    },
  };
}
