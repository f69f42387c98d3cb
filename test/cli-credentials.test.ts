import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../src/cli/exit-codes.js';
import { OPERATOR_TOKEN, useApi } from './helpers/api.js';
import { useCli } from './helpers/cli.js';
import { useEngine } from './helpers/engine.js';

const engine = useEngine('cli-credentials');
const api = useApi(engine);
const cli = useCli(api);

const dir = mkdtempSync(join(tmpdir(), 'refundflow-credentials-'));
/** A file holding `text`, as an operator keeps a credential. */
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

// The credential comes only from where each test says: no OPERATOR_TOKEN, no dev-secrets.json.
const bare = { OPERATOR_TOKEN: undefined, DATA_DIR: dir };

/**
 * Approving an unknown refund: with the right credential the API looks for the refund (404), with a
 * wrong one it refuses the credential (401), so the answer says which credential was sent.
 */
async function approveWith(args: string[], env: Record<string, string | undefined> = {}, input?: string) {
  return cli(['approve', 'RF-nope', ...args], { env: { ...bare, ...env }, ...(input !== undefined && { input }) });
}
const accepted = { code: exitCodes.refused.code, stderr: '404: no refund RF-nope\n' };

describe('the operator credential', () => {
  it('from a file, REFUNDFLOW_TOKEN_FILE, stdin or REFUNDFLOW_TOKEN', async () => {
    const right = file('right', `${OPERATOR_TOKEN}\n`);
    expect(await approveWith(['--token-file', right])).toMatchObject(accepted);
    expect(await approveWith([], { REFUNDFLOW_TOKEN_FILE: right })).toMatchObject(accepted);
    expect(await approveWith(['--token-file', '-'], {}, `${OPERATOR_TOKEN}\n`)).toMatchObject(accepted);
    expect(await approveWith([], { REFUNDFLOW_TOKEN: OPERATOR_TOKEN })).toMatchObject(accepted);
    // Still: --token and OPERATOR_TOKEN.
    expect(await approveWith(['--token', OPERATOR_TOKEN])).toMatchObject(accepted);
    expect(await approveWith([], { OPERATOR_TOKEN })).toMatchObject(accepted);
  });

  it('the first source given wins: a flag over the environment, REFUNDFLOW_TOKEN over OPERATOR_TOKEN', async () => {
    const right = file('right-2', OPERATOR_TOKEN);
    const wrong = file('wrong', 'not-the-token\n');
    expect(await approveWith(['--token-file', right], { REFUNDFLOW_TOKEN: 'not-the-token' })).toMatchObject(accepted);
    expect(await approveWith([], { REFUNDFLOW_TOKEN: OPERATOR_TOKEN, OPERATOR_TOKEN: 'not-the-token' })).toMatchObject(accepted);
    // A refused credential names where it came from (never its value).
    expect(await approveWith(['--token-file', wrong], { REFUNDFLOW_TOKEN: OPERATOR_TOKEN })).toMatchObject({
      code: exitCodes.refused.code,
      stderr: `401: the bearer credential is not one this API takes: a named API key (npx refundflow operator add), or the deprecated OPERATOR_TOKEN\n  (the credential sent came from --token-file ${wrong})\n`,
    });
  });

  it('a source that is given but unusable is a usage error, never passed over', async () => {
    const cases: Array<[string[], Record<string, string>, string | undefined, RegExp]> = [
      [[], {}, undefined, /^no operator credential: set REFUNDFLOW_TOKEN/],
      [['--token-file', join(dir, 'missing')], { REFUNDFLOW_TOKEN: OPERATOR_TOKEN }, undefined, /^--token-file: cannot read .*missing \(ENOENT\)$/],
      [['--token-file', file('empty', '\n')], {}, undefined, /^--token-file .*empty: the credential is empty$/],
      [['--token-file', file('two', 'one\ntwo\n')], {}, undefined, /^--token-file .*two: must hold the credential alone, on one line$/],
      [['--token-file', '-'], {}, '', /^--token-file - \(stdin\): the credential is empty$/],
      [['--token', OPERATOR_TOKEN, '--token-file', '-'], {}, OPERATOR_TOKEN, /^give --token or --token-file, not both$/],
      [
        [],
        { REFUNDFLOW_TOKEN: OPERATOR_TOKEN, REFUNDFLOW_TOKEN_FILE: join(dir, 'right') },
        undefined,
        /^REFUNDFLOW_TOKEN and REFUNDFLOW_TOKEN_FILE are both set/,
      ],
    ];
    for (const [args, env, input, message] of cases) {
      const run = await approveWith(args, env, input);
      expect(run.code, run.stderr).toBe(exitCodes.usage.code);
      expect(run.stderr.trimEnd().replace(/; see --help$/, '')).toMatch(message);
    }
  });

  describe('sent on every API call it has one for, reads included; never with an event', () => {
    const seen: Array<{ method: string; url: string; authorization?: string }> = [];
    const recorder = createServer((request, response) => {
      seen.push({
        method: request.method ?? '',
        url: request.url ?? '',
        ...(request.headers.authorization !== undefined && { authorization: request.headers.authorization }),
      });
      response.writeHead(request.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' });
      response.end(request.url?.startsWith('/v1/refunds?') ? '{"refunds":[]}' : '{"refundId":"RF-1","status":"succeeded","refunds":[]}');
    });
    let url = '';
    beforeAll(async () => {
      await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => recorder.close(() => resolve())));

    it('list, status, refund --wait with a credential from stdin; list without one sends none', async () => {
      const viaRecorder = (args: string[], env: Record<string, string | undefined>, input?: string) =>
        cli(args, { env: { ...bare, REFUNDFLOW_API_URL: url, ...env }, ...(input !== undefined && { input }) });
      expect((await viaRecorder(['list', '--token-file', '-'], {}, 'from-stdin\n')).code).toBe(0);
      expect((await viaRecorder(['status', 'RF-1'], { REFUNDFLOW_TOKEN: 'from-env' })).code).toBe(0);
      expect(
        (
          await viaRecorder(['refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '10', '--refund-id', 'RF-1', '--wait'], {
            REFUNDFLOW_TOKEN: 'from-env',
          })
        ).code,
      ).toBe(0);
      expect((await viaRecorder(['list'], {})).code).toBe(0);
      expect(seen).toEqual([
        { method: 'GET', url: '/v1/refunds?limit=50', authorization: 'Bearer from-stdin' },
        { method: 'GET', url: '/v1/refunds/RF-1', authorization: 'Bearer from-env' },
        { method: 'POST', url: '/v1/events' },
        { method: 'GET', url: '/v1/refunds/RF-1', authorization: 'Bearer from-env' },
        { method: 'GET', url: '/v1/refunds?limit=50' },
      ]);
    });
  });
});
