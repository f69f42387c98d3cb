import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { randomHid } from '../src/sandbox/oen.js';
import { OPERATOR_TOKEN, useApi } from './helpers/api.js';
import { useEngine } from './helpers/engine.js';
import { freePorts } from './helpers/ports.js';
import { admin } from './helpers/sandbox.js';

const engine = useEngine('cli');
// Refunds of NT$5,000 and more wait for an operator, so approve, reject and cancel have something to act on.
const api = useApi(engine, { workerEnv: { APPROVAL_THRESHOLD: '5000' } });

const exec = promisify(execFile);

/** The CLI as a user runs it, in its own process; its output and exit code. */
async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const fullEnv = { ...process.env, REFUNDFLOW_API_URL: api().url, INGEST_WEBHOOK_SECRET: api().secret, OPERATOR_TOKEN, ...env };
  try {
    const { stdout, stderr } = await exec(process.execPath, ['bin/refundflow.mjs', ...args], { env: fullEnv });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

async function seeded(amount: number): Promise<{ orderId: string; hid: string }> {
  const hid = randomHid();
  const orderId = `ORDER-${randomUUID().slice(0, 8)}`;
  await admin(engine().sandboxes.oenUrl, 'POST', 'seed', { transactions: [{ id: hid, orderId, amount }] });
  return { orderId, hid };
}

describe('npx refundflow', () => {
  it('npx finds the project’s own command; --help on each command', async () => {
    const { stdout } = await exec('npx', ['--no-install', 'refundflow', '--help']);
    expect(stdout).toMatch(/Usage: refundflow \[options\] \[command\]/);
    for (const command of ['refund', 'status', 'list', 'approve', 'reject', 'cancel', 'new-key', 'sandbox seed']) {
      const help = await cli([...command.split(' '), '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(new RegExp(`Usage: refundflow ${command}`));
    }
    // The README's table gives the same limit.
    expect((await cli(['refund', '--help'])).stdout.replace(/\s+/g, ' ')).toContain(
      '--wait show each status until the refund is succeeded, failed, cancelled or requires_attention, for at most 120 s; exit 1 unless it succeeded',
    );
  });

  it('refund --wait shows it succeed; status and list show it, and --json gives the record', async () => {
    const { orderId, hid } = await seeded(1000);
    const refundId = `RF-${randomUUID().slice(0, 8)}`;
    const sent = await cli(['refund', '--order', orderId, '--transaction', hid, '--amount', '1000', '--refund-id', refundId, '--wait']);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(new RegExp(`^accepted: refund ${refundId}\\n  Web UI  http://localhost:8233/namespaces/default/workflows/oen-refund-${hid}\\n`));
    expect(sent.stdout).toMatch(new RegExp(`^${refundId}  succeeded\\n  provider   oen \\(transaction ${hid}\\)\\n  order      ${orderId}\\n  amount     NT\\$1,000`, 'm'));

    const status = await cli(['--json', 'status', refundId]);
    expect(JSON.parse(status.stdout)).toMatchObject({ refundId, status: 'succeeded', transactionHid: hid, amount: 1000 });

    const listed = await cli(['list', '--order', orderId]);
    expect(listed.stdout).toMatch(new RegExp(`^${refundId} +succeeded +NT\\$1,000 `));
    expect((await cli(['list', '--order', 'ORDER-none'])).stdout).toBe('no refunds for order ORDER-none\n');
  });

  it('approve, reject and cancel a refund that waits for an operator', async () => {
    for (const [action, final] of [
      ['approve', 'succeeded'],
      ['reject', 'cancelled'],
      ['cancel', 'cancelled'],
    ] as const) {
      const { orderId, hid } = await seeded(6000);
      const refundId = `RF-${randomUUID().slice(0, 8)}`;
      expect((await cli(['refund', '--order', orderId, '--transaction', hid, '--amount', '6000', '--refund-id', refundId])).code).toBe(0);
      await expect.poll(async () => (await api().request('GET', `/v1/refunds/${refundId}`)).body.status, { timeout: 30_000 }).toBe('awaiting_approval');
      const decided = await cli([action, refundId, '--by', 'alice', '--reason', 'checked']);
      expect(decided.code, action).toBe(0);
      expect(decided.stdout, action).toMatch(new RegExp(`^${action}: refund ${refundId} is now `));
      await expect.poll(async () => (await api().request('GET', `/v1/refunds/${refundId}`)).body.status, { timeout: 30_000 }).toBe(final);
    }
  });

  it('sandbox seed adds a transaction and prints the command that refunds it', async () => {
    const seededOut = await cli(['sandbox', 'seed', '--amount', '700', '--oen-url', engine().sandboxes.oenUrl]);
    expect(seededOut.code).toBe(0);
    const command = /^ {2}npx refundflow (refund .*)$/m.exec(seededOut.stdout)?.[1];
    expect(command).toMatch(/^refund --order DEMO-\w+ --transaction P\w+ --amount 700 --wait$/);
    const refunded = await cli((command ?? '').split(' '));
    expect(refunded.code).toBe(0);
    expect(refunded.stdout).toMatch(/ {2}succeeded\n/);
  });

  it('new-key prints a PAYLOAD_ENCRYPTION_KEYS entry the configuration accepts, a different key each time', async () => {
    const first = await cli(['new-key', '--id', 'k-2026']);
    expect(first.code).toBe(0);
    const entry = first.stdout.trim();
    expect(entry).toMatch(/^k-2026:[A-Za-z0-9+/]{43}=$/);
    expect(loadConfig({ PAYLOAD_ENCRYPTION_KEYS: entry }).PAYLOAD_ENCRYPTION_KEYS).toBe(entry);
    expect((await cli(['new-key', '--id', 'k-2026'])).stdout.trim()).not.toBe(entry);
    expect(await cli(['new-key', '--id', 'a b'])).toMatchObject({ code: 1, stderr: '--id must be 1-64 of A-Z a-z 0-9 . _ -\n' });
  });

  it('says plainly what went wrong, with exit code 1', async () => {
    const unknown = await cli(['status', 'RF-nope']);
    expect(unknown).toMatchObject({ code: 1, stderr: '404: no refund RF-nope\n' });

    const invalid = await cli(['refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '10.5']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^422: the event does not match the contract \(1 problem\)\n {2}data.amount: must be a whole number of NT\$/);

    const wrongSecret = await cli(['refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '10'], {
      INGEST_WEBHOOK_SECRET: `whsec_${Buffer.from('not the secret, 24 bytes').toString('base64')}`,
    });
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.stderr).toMatch(/^401: signature refused: no signature in webhook-signature matches/);

    const wrongToken = await cli(['approve', 'RF-nope'], { OPERATOR_TOKEN: 'guess' });
    expect(wrongToken).toMatchObject({ code: 1, stderr: "401: the bearer token is not this API's OPERATOR_TOKEN\n" });

    const nobody = (await freePorts(1))[0] ?? 0;
    const down = await cli(['status', 'RF-1'], { REFUNDFLOW_API_URL: `http://127.0.0.1:${nobody}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^cannot reach the API at http://127.0.0.1:${nobody} \\(ECONNREFUSED\\): is \`npm start\` running\\?`));
  });
});
