import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { randomHid } from '../src/providers/oen/hid.js';
import { exitCodes } from '../src/cli/exit-codes.js';
import { workflowListUiUrl } from '../src/domain/ui.js';
import { useApi } from './helpers/api.js';
import { useCli } from './helpers/cli.js';
import { useEngine } from './helpers/engine.js';
import { freePorts } from './helpers/ports.js';
import { admin, sandboxRefunds } from './helpers/sandbox.js';

const engine = useEngine('cli');
// Refunds of NT$5,000 and more wait for an operator, so approve, reject and cancel have something to
// act on; a provider that keeps failing hands its refund to a person after 5 s.
const api = useApi(engine, { workerEnv: { APPROVAL_THRESHOLD: '5000', PROVIDER_RETRY_WINDOW_SECONDS: '5' } });

const exec = promisify(execFile);
const cli = useCli(api);

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
    // docs/cli.md's table gives the same default.
    expect((await cli(['refund', '--help'])).stdout.replace(/\s+/g, ' ')).toContain(
      '--timeout <duration> with --wait: give up after this long (90s, 15m, 1h, 2d), exit code 4 (default: 2m)',
    );
    const cliDoc = readFileSync('docs/cli.md', 'utf8');
    expect(cliDoc).toContain('for at most `--timeout` (default 2m;');
    // The exit codes, from the one table: in docs/cli.md's and on every --help that ends with them.
    const exitCodesDoc = cliDoc.split(/^## /m).find((section) => section.startsWith('Exit codes')) ?? '';
    expect([...exitCodesDoc.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]))).toEqual(Object.values(exitCodes).map((e) => e.code));
    for (const help of [await cli(['--help']), await cli(['status', '--help']), await cli(['refund', '--help'])]) {
      for (const { code, meaning } of Object.values(exitCodes)) expect(help.stdout).toContain(`${String(code).padStart(3)}  ${meaning}`);
    }
  });

  it('--version is the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('refund --wait shows it succeed; status and list show it, and --json gives the record', async () => {
    const { orderId, hid } = await seeded(1000);
    const refundId = `RF-${randomUUID().slice(0, 8)}`;
    const sent = await cli(['refund', '--order', orderId, '--transaction', hid, '--amount', '1000', '--refund-id', refundId, '--wait']);
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(
      new RegExp(`^accepted: refund ${refundId}\\n  Web UI  http://localhost:8233/namespaces/default/workflows/oen-refund-${hid}\\n`),
    );
    expect(sent.stdout).toMatch(
      new RegExp(`^${refundId}  succeeded\\n  provider   oen \\(transaction ${hid}\\)\\n  order      ${orderId}\\n  amount     NT\\$1,000`, 'm'),
    );

    const status = await cli(['--json', 'status', refundId]);
    expect(JSON.parse(status.stdout)).toMatchObject({ refundId, status: 'succeeded', transactionHid: hid, amount: 1000 });

    const listed = await cli(['list', '--order', orderId]);
    expect(listed.stdout).toMatch(
      new RegExp(`^REFUND +STATUS +PROVIDER +AMOUNT +UPDATED +ORDER +ERROR\n${refundId} +succeeded +oen +NT\\$1,000 +\\S+ +${orderId}\n$`),
    );
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
      const decided = await cli([action, refundId, '--reason', 'checked']);
      expect(decided.code, action).toBe(0);
      expect(decided.stdout, action).toMatch(new RegExp(`^${action}: refund ${refundId} is now `));
      await expect.poll(async () => (await api().request('GET', `/v1/refunds/${refundId}`)).body.status, { timeout: 30_000 }).toBe(final);
    }
  }, 240_000);

  it('sandbox seed adds a charged payment to either emulator and prints the command that refunds it; the command does', async () => {
    const { oenUrl, mwdUrl } = engine().sandboxes;
    for (const [provider, target, emulator] of [
      ['oen', '--transaction P\\w+', oenUrl],
      ['mwd', '--card-token [\\w-]+_\\d{16}', mwdUrl],
    ] as const) {
      const seededOut = await cli(['sandbox', 'seed', '--provider', provider, '--amount', '700', '--oen-url', oenUrl, '--mwd-url', mwdUrl]);
      expect(seededOut, provider).toMatchObject({ code: 0, stderr: '' });
      const command = /^ {2}npx refundflow (refund .*)$/m.exec(seededOut.stdout)?.[1];
      expect(command, provider).toMatch(
        new RegExp(`^refund --provider ${provider} --order DEMO-[\\w-]+ ${target} --amount 700 --refund-id RF-DEMO-[\\w-]+ --wait$`),
      );
      const refunded = await cli((command ?? '').split(' '));
      expect(refunded.code, provider).toBe(0);
      expect(refunded.stdout, provider).toMatch(new RegExp(`^RF-DEMO-[\\w-]+ {2}succeeded\n {2}provider {3}${provider}`, 'm'));
      // The emulator carried the refund out, for the order it seeded.
      const orderId = /--order (\S+)/.exec(command ?? '')?.[1];
      expect(
        (await sandboxRefunds(emulator)).filter((r) => r.orderId === orderId).map((r) => r.amount),
        provider,
      ).toEqual([700]);
    }
  });

  it('new-key prints a PAYLOAD_ENCRYPTION_KEYS entry the configuration accepts, a different key each time', async () => {
    const first = await cli(['new-key', '--id', 'k-2026']);
    expect(first.code).toBe(0);
    const entry = first.stdout.trim();
    expect(entry).toMatch(/^k-2026:[A-Za-z0-9+/]{43}=$/);
    expect(loadConfig({ PAYLOAD_ENCRYPTION_KEYS: entry }).PAYLOAD_ENCRYPTION_KEYS).toBe(entry);
    expect((await cli(['new-key', '--id', 'k-2026'])).stdout.trim()).not.toBe(entry);
    expect(await cli(['new-key', '--id', 'a b'])).toMatchObject({
      code: exitCodes.usage.code,
      stderr: '--id must be 1-64 of A-Z a-z 0-9 . _ - (got "a b"); see --help\n',
    });
  });

  it('says plainly what went wrong, with the exit code for each way', async () => {
    const unknown = await cli(['status', 'RF-nope']);
    expect(unknown).toEqual({ code: exitCodes.refused.code, stdout: '', stderr: '404: no refund RF-nope\n' });

    // A bad flag is found before anything is sent, with the API's own rule, and named (every flag:
    // test/unit/cli-flags.test.ts): the error and "see --help", not the help.
    expect(await cli(['refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '12.5'])).toEqual({
      code: exitCodes.usage.code,
      stdout: '',
      stderr: '--amount must be a whole number of NT$ (got 12.5); see --help\n',
    });
    expect(await cli(['refund', '--order', 'O-1', '--amount', '10'])).toEqual({
      code: exitCodes.usage.code,
      stdout: '',
      stderr: '--transaction is required with --provider oen: the transaction HID (P2024…); see --help\n',
    });

    const wrongSecret = await cli(['refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '10'], {
      env: { INGEST_WEBHOOK_SECRET: `whsec_${Buffer.from('not the secret, 24 bytes').toString('base64')}` },
    });
    expect(wrongSecret.code).toBe(exitCodes.refused.code);
    expect(wrongSecret.stderr).toMatch(/^401: signature refused: no signature in webhook-signature matches/);

    const wrongToken = await cli(['approve', 'RF-nope'], { env: { OPERATOR_TOKEN: 'guess' } });
    expect(wrongToken).toMatchObject({
      code: exitCodes.refused.code,
      stderr:
        '401: the bearer credential is not one this API takes: a named API key (npx refundflow operator add), or the deprecated OPERATOR_TOKEN\n  (the credential sent came from OPERATOR_TOKEN)\n',
    });

    const nobody = (await freePorts(1))[0] ?? 0;
    const down = await cli(['status', 'RF-1'], { env: { REFUNDFLOW_API_URL: `http://127.0.0.1:${nobody}` } });
    expect(down.code).toBe(exitCodes.unreachable.code);
    expect(down.stderr).toMatch(new RegExp(`^cannot reach the API at http://127.0.0.1:${nobody} \\(ECONNREFUSED\\): is \`npm start\` running\\?`));

    for (const usage of [
      ['status'],
      ['list', '--bogus'],
      ['list', '--status', 'done'],
      ['list', '--older-than', '5'],
      ['list', '--limit', '0'],
      ['frobnicate'],
      ['sandbox'],
    ]) {
      const run = await cli(usage);
      expect(run.code, usage.join(' ')).toBe(exitCodes.usage.code);
      expect(run.stdout, usage.join(' ')).toBe('');
      expect(run.stderr, usage.join(' ')).toMatch(/^[^\n]+; see --help\n$/);
    }
    expect(await cli(['status', 'RF-1', '--timeout', '1s'])).toMatchObject({
      code: exitCodes.usage.code,
      stderr: '--timeout applies only with --wait; see --help\n',
    });
    expect(
      await cli(['refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '10'], { env: { INGEST_WEBHOOK_SECRET: undefined, DATA_DIR: emptyDir() } }),
    ).toMatchObject({
      code: exitCodes.usage.code,
      stderr: expect.stringMatching(/^no webhook secret: /) as unknown,
    });
  });

  it('with --json, every error is one JSON line on stderr with its exit code, and stdout stays empty', async () => {
    const json = async (args: string[], env: Record<string, string | undefined> = {}) => {
      const run = await cli(['--json', ...args], { env });
      expect(run.stdout, args.join(' ')).toBe('');
      expect(run.stderr.endsWith('\n') && !run.stderr.slice(0, -1).includes('\n'), run.stderr).toBe(true);
      const error = JSON.parse(run.stderr) as { exitCode: number };
      expect(error.exitCode, args.join(' ')).toBe(run.code);
      return error;
    };
    expect(await json(['status', 'RF-nope'])).toEqual({ error: 'no refund RF-nope', exitCode: exitCodes.refused.code, httpStatus: 404 });
    expect(await json(['refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '10.5'])).toEqual({
      error: '--amount must be a whole number of NT$ (got 10.5)',
      exitCode: exitCodes.usage.code,
    });
    expect(await json(['approve', 'RF-nope'], { OPERATOR_TOKEN: 'guess' })).toEqual({
      error: 'the bearer credential is not one this API takes: a named API key (npx refundflow operator add), or the deprecated OPERATOR_TOKEN',
      exitCode: exitCodes.refused.code,
      httpStatus: 401,
      credentialFrom: 'OPERATOR_TOKEN',
    });
    const nobody = (await freePorts(1))[0] ?? 0;
    expect(await json(['status', 'RF-1'], { REFUNDFLOW_API_URL: `http://127.0.0.1:${nobody}` })).toMatchObject({
      error: expect.stringMatching(/^cannot reach the API at .* \(ECONNREFUSED\)/) as unknown,
      exitCode: exitCodes.unreachable.code,
    });
    // Usage errors too, whether commander or the command finds them.
    expect(await json(['list', '--bogus'])).toEqual({ error: "unknown option '--bogus'", exitCode: exitCodes.usage.code });
    expect(await json(['list', '--older-than', '5'])).toEqual({
      error: '--older-than must be a whole number and a unit, e.g. 90s, 15m, 1h, 2d or 1h30m (got 5)',
      exitCode: exitCodes.usage.code,
    });
    expect(await json(['new-key', '--id', 'a b'])).toEqual({ error: '--id must be 1-64 of A-Z a-z 0-9 . _ - (got "a b")', exitCode: exitCodes.usage.code });
    expect(await json(['sandbox'])).toEqual({ error: 'refundflow sandbox needs a command: seed', exitCode: exitCodes.usage.code });
  });

  it('status and refund --wait: the exit code says how the refund stands', async () => {
    // Succeeded (0) is the refund --wait test above. More than the transaction was charged: Oen refuses it, and it fails.
    const refused = await seeded(1000);
    const failedId = `RF-${randomUUID().slice(0, 8)}`;
    const failed = await cli(['refund', '--order', refused.orderId, '--transaction', refused.hid, '--amount', '2000', '--refund-id', failedId, '--wait']);
    expect(failed.code).toBe(exitCodes.failed.code);
    expect(failed.stdout).toMatch(new RegExp(`^${failedId}  failed\n`, 'm'));
    expect((await cli(['status', failedId])).code).toBe(exitCodes.failed.code);

    // Waiting for approval: not ended (13); rejected, it ends cancelled (11).
    const big = await seeded(6000);
    const waitingId = `RF-${randomUUID().slice(0, 8)}`;
    expect((await cli(['refund', '--order', big.orderId, '--transaction', big.hid, '--amount', '6000', '--refund-id', waitingId])).code).toBe(0);
    await expect.poll(async () => (await api().request('GET', `/v1/refunds/${waitingId}`)).body.status, { timeout: 30_000 }).toBe('awaiting_approval');
    const waiting = await cli(['--json', 'status', waitingId]);
    expect(waiting.code).toBe(exitCodes.inProgress.code);
    expect(JSON.parse(waiting.stdout)).toMatchObject({ refundId: waitingId, status: 'awaiting_approval' });
    // Without --json, status names the command that moves it.
    expect((await cli(['status', waitingId])).stdout).toMatch(
      new RegExp(
        `^ {2}next {7}an approver decides: \`npx refundflow approve ${waitingId}\` sends it, \`npx refundflow reject ${waitingId}\` ends it cancelled$`,
        'm',
      ),
    );
    expect((await cli(['reject', waitingId, '--reason', 'test'])).code).toBe(0);
    const cancelled = await cli(['status', waitingId, '--wait']);
    expect(cancelled.code).toBe(exitCodes.cancelled.code);
    expect(cancelled.stdout).toMatch(new RegExp(`^${waitingId}  cancelled\n`, 'm'));

    // Left for a person (12).
    const attentionId = `RF-${randomUUID().slice(0, 8)}`;
    await engine().ledger.recordForPerson(
      { refundId: attentionId, provider: 'mwd', orderId: 'O-ATT', amount: 5, cardToken: 't' },
      `mwd-refund-${attentionId}`,
      {
        code: 'MwdOutcomeUnknown',
        message: 'no answer',
      },
    );
    const attention = await cli(['status', attentionId]);
    expect(attention.code).toBe(exitCodes.requiresAttention.code);
    expect(attention.stdout).toMatch(
      new RegExp(
        `^ {2}next {7}nothing more is sent to MWD until a person settles it, on an approver's word: \`npx refundflow resolve ${attentionId} succeeded --reference R --evidence E\` or \`… failed --evidence E\`$`,
        'm',
      ),
    );
    expect(attention.stdout).not.toMatch(/will be sent again/);
    // Under it, the Web UI's list of every refund that needs a person, in the Web UI of the refund's own link.
    expect(attention.stdout).toContain(
      `\nWeb UI, every refund in requires_attention ("Needs a person"): ${workflowListUiUrl('http://localhost:8233', 'default', 'RefundStatus="requires_attention"')}\n`,
    );
    expect((await cli(['status', attentionId, '--wait'])).code).toBe(exitCodes.requiresAttention.code);
  });

  it('status of a refund Oen kept failing: one plain sentence of what moves it, never that it will be sent again', async () => {
    const { orderId, hid } = await seeded(1000);
    // A 500 without Oen's answer each time: checked, Oen shows no refund, sent again, until the window passes.
    await admin(engine().sandboxes.oenUrl, 'PATCH', 'faults', { [`refund@${hid}`]: { http500: 1 } });
    const refundId = `RF-${randomUUID().slice(0, 8)}`;
    const sent = await cli(['refund', '--order', orderId, '--transaction', hid, '--amount', '1000', '--refund-id', refundId, '--wait']);
    expect(sent.code).toBe(exitCodes.requiresAttention.code);
    const shown = await cli(['status', refundId]);
    expect(shown.code).toBe(exitCodes.requiresAttention.code);
    // The record's message: one plain sentence first, then Oen's last failure, which names no resend.
    expect(shown.stdout).toMatch(
      /^ {2}error {6}\S+ — The provider kept failing for 5 s, so nothing more is sent until a person settles this refund \(its last failure: .*; Oen shows no refund of \S+\)$/m,
    );
    expect(shown.stdout).toMatch(
      new RegExp(
        `^ {2}next {7}nothing more is sent to Oen until a person settles it: \`npx refundflow resolve ${refundId} succeeded --reference R --evidence E\` or \`… failed --evidence E\`, or \`… retry\` to send it again if Oen shows it still charged$`,
        'm',
      ),
    );
    expect(shown.stdout).not.toMatch(/will be sent again/);
  });

  it('--wait --timeout: a refund that does not end in time exits 4, saying where it stands', async () => {
    const { orderId, hid } = await seeded(6000);
    const refundId = `RF-${randomUUID().slice(0, 8)}`;
    // NT$6,000 waits for an operator, who never comes.
    const sent = await cli(['refund', '--order', orderId, '--transaction', hid, '--amount', '6000', '--refund-id', refundId, '--wait', '--timeout', '2s']);
    expect(sent.code).toBe(exitCodes.timedOut.code);
    expect(sent.stdout).toContain('… awaiting_approval\n');
    expect(sent.stderr).toBe(`refund ${refundId} is still awaiting_approval after 2s; follow it with \`refundflow status ${refundId} --wait --timeout …\`\n`);

    const followed = await cli(['--json', 'status', refundId, '--wait', '--timeout', '1s']);
    expect(followed).toMatchObject({ code: exitCodes.timedOut.code, stdout: '' });
    expect(JSON.parse(followed.stderr)).toEqual({
      error: `refund ${refundId} is still awaiting_approval after 1s; follow it with \`refundflow status ${refundId} --wait --timeout …\``,
      exitCode: exitCodes.timedOut.code,
      refundId,
      status: 'awaiting_approval',
    });
  });
});

/** A data directory with no dev-secrets.json in it. */
function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'refundflow-cli-'));
}
