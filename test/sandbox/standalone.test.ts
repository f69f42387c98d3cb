import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../helpers/ports.js';
import { run } from '../helpers/process.js';

const curl = promisify(execFile);

/** One of the Oen document's curl examples, as written but for the address and token. */
async function documentCurl(args: string[]): Promise<{ status: number; body: unknown }> {
  const { stdout } = await curl('curl', ['--silent', '--write-out', '\n%{http_code}', ...args]);
  const lines = stdout.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as unknown };
}

describe('npm run sandbox', () => {
  it('serves both emulators; the Oen document’s curl examples work as written, and a second refund is V0002', async () => {
    const [oenPort, mwdPort] = await freePorts(2);
    const sandbox = run('npm', ['run', 'sandbox'], {
      ...process.env,
      SANDBOX_OEN_PORT: String(oenPort),
      SANDBOX_MWD_PORT: String(mwdPort),
    });
    try {
      await sandbox.waitForOutput(/Press Ctrl-C to stop/, 60_000);
      const base = `http://127.0.0.1:${oenPort}`;
      expect(sandbox.output()).toContain(`Oen sandbox   ${base}`);
      expect(sandbox.output()).toContain(`MWD sandbox   http://127.0.0.1:${mwdPort}`);
      const headers = ['--header', 'Content-Type: application/json', '--header', 'Authorization: Bearer sandbox'];

      const list = await documentCurl(['--location', `${base}/order/ORDER00001/transactions`, ...headers]);
      expect(list).toMatchObject({ status: 200, body: { code: 'S0000', data: { transactions: [{ id: 'P20240412CIK7KPPH', amount: 1000 }] } } });

      const refund = [
        '--location',
        `${base}/refunds/P20240412CIK7KPPH`,
        ...headers,
        '--data',
        '{\n    "merchantId": "oentech",\n    "amount": 1000,\n    "reason": "客戶取消訂單"\n}',
      ];
      expect(await documentCurl(refund)).toMatchObject({
        status: 200,
        body: { code: 'S0000', data: { id: 'P20240412CIK7KPPH', status: 'refunded', refundAmount: 1000, note: '客戶取消訂單' } },
      });
      expect(await documentCurl(refund)).toMatchObject({ status: 400, body: { code: 'V0002' } });

      const cancel = await documentCurl([
        '--location',
        '--request',
        'PUT',
        `${base}/subscriptions/S202404112CYPRJPZ`,
        ...headers,
        '--data',
        '{\n    "merchantId": "oentech",\n    "reason": "客戶自行取消"\n}',
      ]);
      expect(cancel).toMatchObject({ status: 200, body: { code: 'S0000', data: { id: 'S202404112CYPRJPZ', status: 'cancelled' } } });

      const unauthorised = await documentCurl(['--location', `${base}/order/ORDER00001/transactions`]);
      expect(unauthorised).toEqual({ status: 401, body: { code: 'A0001', message: '未授權' } });
    } finally {
      sandbox.signalGroup('SIGINT');
      await sandbox.exited;
    }
    expect(sandbox.output()).toContain('Stopping the sandbox emulators.');
  }, 90_000);
});
