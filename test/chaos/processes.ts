import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Signer } from '../../src/webhooks/signing.js';
import { run, type RunningProcess } from '../helpers/process.js';

/**
 * One of the engine's processes under the chaos run's supervision: it can be killed on purpose,
 * and anything that exits is started again (as a supervisor in production would), counted apart
 * from the planned kills so an unplanned crash shows in the report.
 */
export class Supervised {
  private current: RunningProcess | undefined;
  private stopping = false;
  private planned = 0;
  kills = 0;
  /** Each exit nobody asked for: the process, how it ended, and its last line of output. */
  readonly unplannedExits: string[] = [];
  /** The output of every incarnation, for the card-number and secret scans. */
  private readonly outputs: string[] = [];

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly ready: RegExp,
  ) {}

  async start(): Promise<void> {
    const child = run(process.execPath, ['--import', 'tsx', ...this.args], this.env);
    this.current = child;
    void child.exited.then((how) => {
      const output = child.output();
      this.outputs.push(output);
      if (this.stopping || this.current !== child) return;
      if (this.planned > 0) {
        this.planned -= 1;
        return;
      }
      this.unplannedExits.push(unplannedExit(this.name, how, output));
      this.current = undefined;
    });
    await child.waitForOutput(this.ready, 120_000);
  }

  /** SIGKILL: no chance to finish anything. */
  async kill(): Promise<void> {
    const child = this.current;
    if (!child) return;
    this.planned += 1;
    this.kills += 1;
    child.signalGroup('SIGKILL');
    await child.exited;
  }

  /** Starts it again if it is not running (after a kill, or after it left on its own). */
  async ensureRunning(): Promise<void> {
    const child = this.current;
    if (child && child.child.exitCode === null && child.child.signalCode === null) return;
    await this.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.current;
    if (!child) return;
    child.signalGroup('SIGTERM');
    const timer = setTimeout(() => child.signalGroup('SIGKILL'), 15_000);
    await child.exited;
    clearTimeout(timer);
  }

  output(): string {
    return [...this.outputs, this.current?.output() ?? ''].join('\n');
  }

  /** The running incarnation's process id (for its memory figures). */
  pid(): number | undefined {
    return this.current?.child.pid;
  }
}

/** "worker-2 exited with code 1; last line: …", for the report. */
export function unplannedExit(name: string, how: number | string, output: string): string {
  const lastLine = output.trimEnd().split('\n').at(-1)?.trim() ?? '';
  const ended = typeof how === 'number' ? `exited with code ${how}` : `was killed by ${how}`;
  return `${name} ${ended}${lastLine ? `; last line: ${lastLine.slice(0, 300)}` : ''}`;
}

export interface OutcomeDelivery {
  id: string;
  type: string;
  refundId: string;
}

/**
 * Order management's end of outcome events: checks each delivery's signature, answers 503 to some
 * (so deliveries are retried), and keeps every one it took.
 */
export class OutcomeReceiver {
  readonly deliveries: OutcomeDelivery[] = [];
  readonly bodies: string[] = [];
  badSignatures = 0;
  refused = 0;
  private server: Server | undefined;
  url = '';

  constructor(
    private readonly secret: string,
    private readonly refuseRate: number,
    private readonly random: () => number,
  ) {}

  async start(): Promise<void> {
    const signer = new Signer(this.secret);
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (!signer.verify(body, request.headers).ok) {
          this.badSignatures += 1;
          response.statusCode = 401;
          response.end();
          return;
        }
        if (this.random() < this.refuseRate) {
          this.refused += 1;
          response.statusCode = 503;
          response.end();
          return;
        }
        const event = JSON.parse(body) as { id: string; type: string; data: { refundId: string } };
        this.deliveries.push({ id: event.id, type: event.type, refundId: event.data.refundId });
        this.bodies.push(body);
        response.statusCode = 200;
        response.end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/refund-outcomes`;
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/**
 * Sends as a sender of the chaos run does (an HTTP client, a broker publisher): `attempt` once, and
 * again after a pause of 100–500 ms while it did not get through (the API or the broker down or
 * restarting), at most 200 times. Whether it got through.
 */
export async function sendUntilTaken(attempt: () => Promise<boolean>, random: () => number): Promise<boolean> {
  for (let tries = 1; ; tries += 1) {
    if (await attempt().catch(() => false)) return true;
    if (tries >= 200) return false;
    await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(random() * 400))); // a sender's pause before it sends again, as a real one's
  }
}

/** mulberry32: a small seeded generator, so a run's choices can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
