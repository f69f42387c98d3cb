import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { LogTimestamp, type RuntimeOptions } from '@temporalio/worker';
import type { LevelWithSilent } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import type { createApi } from '../src/api/server.js';
import { isLuhnValid } from '../src/domain/pan.js';
import { pgliteDatabase } from '../src/ledger/database.js';
import { migrate } from '../src/ledger/migrations.js';
import { createLogger, isSecretKey, runtimeLogger } from '../src/logging.js';
import { apiOn } from './helpers/api.js';

// Luhn-valid test card numbers, written the ways people and providers write them.
const PAN = '4111111111111111';
const PAN_SPACED = '4242 4242 4242 4242';
const PAN_DASHED = '5555-5555-5555-4444';

interface Line {
  level: string;
  time: string;
  msg?: string;
  [key: string]: unknown;
}

/** A real pino logger from createLogger, writing into an array instead of stdout. */
function capture(level: LevelWithSilent = 'trace', name?: string) {
  const raw: string[] = [];
  const logger = createLogger({ level, ...(name !== undefined && { name }), destination: { write: (line: string) => void raw.push(line) } });
  return {
    logger,
    raw,
    text: () => raw.join(''),
    lines: () => raw.map((line) => JSON.parse(line) as Line),
    last: () => JSON.parse(raw[raw.length - 1] ?? 'null') as Line,
  };
}

/** Whether any digit run of `text` (ignoring spaces and dashes between digits) holds `pan`. */
function holdsPan(text: string, pan: string): boolean {
  return text.replace(/(\d)[ -](?=\d)/g, '$1').includes(pan.replace(/[ -]/g, ''));
}

describe('createLogger: the line', () => {
  it('is one JSON object a line with an ISO time, the level as a label, the message and the name', () => {
    const log = capture('info', 'api');
    log.logger.info('hello');
    log.logger.debug('not at info');
    expect(log.raw).toHaveLength(1);
    expect(log.raw[0]?.endsWith('\n')).toBe(true);
    const line = log.last();
    expect(line).toMatchObject({ level: 'info', msg: 'hello', name: 'api' });
    expect(line.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Math.abs(Date.parse(line.time) - Date.now())).toBeLessThan(60_000);
    log.logger.error('bad');
    expect(log.last().level).toBe('error');
  });
});

describe('createLogger: card numbers', () => {
  it('masks a card number in the message, keeping the last four digits', () => {
    const log = capture();
    log.logger.info(`refund to card ${PAN} accepted`);
    log.logger.warn(`cards ${PAN_SPACED} and ${PAN_DASHED}`);
    log.logger.info('printf card %s', PAN);
    const [first, second, third] = log.lines();
    expect(first?.msg).toBe('refund to card ****1111 accepted');
    expect(second?.msg).toBe('cards ****4242 and ****4444');
    expect(third?.msg).toBe('printf card ****1111');
    for (const pan of [PAN, PAN_SPACED, PAN_DASHED]) expect(holdsPan(log.text(), pan)).toBe(false);
  });

  it('masks card numbers in strings nested in logged objects, and under card-number keys even as numbers', () => {
    const log = capture();
    log.logger.info(
      { provider: { response: { detail: `card ${PAN_SPACED} declined`, lines: [`pan ${PAN_DASHED}`] } }, cardNumber: 4242424242424242 },
      'provider answer',
    );
    const line = log.last();
    expect(line.provider).toEqual({ response: { detail: 'card ****4242 declined', lines: ['pan ****4444'] } });
    expect(line.cardNumber).toBe('****4242');
    expect(holdsPan(log.text(), PAN_SPACED) || holdsPan(log.text(), PAN_DASHED)).toBe(false);
  });

  it("masks card numbers in an Error's message and stack, logged alone, under err, nested, or as a cause", () => {
    const log = capture();
    const err = new Error(`provider refused card ${PAN}`);
    log.logger.error(err);
    const alone = log.last();
    expect(alone.msg).toBe('provider refused card ****1111');
    expect(alone.err).toMatchObject({ type: 'Error', message: 'provider refused card ****1111' });
    expect((alone.err as { stack: string }).stack).toMatch(/^Error: provider refused card \*\*\*\*1111\n/);

    log.logger.error({ err: new Error('outer', { cause: new Error(`inner ${PAN_SPACED}`) }) }, 'with a cause');
    expect(log.last().err).toMatchObject({ message: 'outer', cause: { message: 'inner ****4242' } });

    log.logger.warn({ attempt: { error: new Error(`timeout for ${PAN_DASHED}`) } }, 'nested');
    expect(log.last().attempt).toMatchObject({ error: { type: 'Error', message: 'timeout for ****4444' } });
    for (const pan of [PAN, PAN_SPACED, PAN_DASHED]) expect(holdsPan(log.text(), pan)).toBe(false);
  });

  it('leaves other numbers and short digit runs alone', () => {
    const log = capture();
    const timestamp = 1732518090813; // 13 digits that pass the Luhn check
    expect(isLuhnValid(String(timestamp))).toBe(true);
    log.logger.info({ at: timestamp, amount: 1000, orderId: 'ORDER00001' }, 'order 202008170002');
    expect(log.last()).toMatchObject({ at: timestamp, amount: 1000, orderId: 'ORDER00001', msg: 'order 202008170002' });
  });
});

describe('createLogger: secrets', () => {
  const headers = {
    authorization: 'Bearer operator-token-xyz',
    'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
    cookie: 'sid=cookie-secret-1',
    'set-cookie': ['session=cookie-secret-2; HttpOnly'],
    'webhook-id': 'evt_1',
    'content-type': 'application/json',
  };
  const secrets = ['operator-token-xyz', 'K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN', 'cookie-secret-1', 'cookie-secret-2'];
  const redactedHeaders = {
    authorization: '[redacted]',
    'webhook-signature': '[redacted]',
    cookie: '[redacted]',
    'set-cookie': '[redacted]',
    'webhook-id': 'evt_1',
    'content-type': 'application/json',
  };

  it('redacts the authorization, webhook-signature, cookie and set-cookie headers wherever they are', () => {
    const log = capture();
    log.logger.info({ req: { method: 'POST', url: '/v1/events', headers, body: '{"data":{}}' } }, 'a request');
    expect(log.last().req).toEqual({ method: 'POST', url: '/v1/events', headers: redactedHeaders });
    log.logger.info({ headers }, 'top level');
    expect(log.last().headers).toEqual(redactedHeaders);
    log.logger.info({ call: { request: { headers: { Authorization: headers.authorization } } } }, 'nested, capitalised');
    expect(log.last().call).toEqual({ request: { headers: { Authorization: '[redacted]' } } });
    for (const secret of secrets) expect(log.text()).not.toContain(secret);
  });

  it('redacts token, secret, password and key fields at any depth, keeping key ids and idempotency keys', () => {
    const log = capture();
    log.logger.info(
      {
        token: 'tok-1',
        config: {
          OPERATOR_TOKEN: 'tok-2',
          INGEST_WEBHOOK_SECRET: 'whsec_c2VjcmV0LTM=',
          PAYLOAD_ENCRYPTION_KEYS: 'k1:a2V5LTQ=',
          db: { password: 'pw-5' },
          provider: { apiKey: 'key-6', 'x-api-key': 'key-7', cardToken: 'ctok-8' },
        },
        keyId: 'k1',
        idempotencyKey: 'RF-1001',
      },
      'configured',
    );
    expect(log.last()).toMatchObject({
      token: '[redacted]',
      config: {
        OPERATOR_TOKEN: '[redacted]',
        INGEST_WEBHOOK_SECRET: '[redacted]',
        PAYLOAD_ENCRYPTION_KEYS: '[redacted]',
        db: { password: '[redacted]' },
        provider: { apiKey: '[redacted]', 'x-api-key': '[redacted]', cardToken: '[redacted]' },
      },
      keyId: 'k1',
      idempotencyKey: 'RF-1001',
    });
    log.logger.info('printf %j', { answer: { token: 'tok-24' } });
    expect(log.last().msg).toBe('printf {"answer":{"token":"[redacted]"}}');
    for (const secret of ['tok-1', 'tok-2', 'c2VjcmV0LTM', 'a2V5LTQ', 'pw-5', 'key-6', 'key-7', 'ctok-8', 'tok-24']) expect(log.text()).not.toContain(secret);
  });

  it('redacts bearer tokens, webhook secrets, URL passwords and secret parameters in free text', () => {
    const log = capture();
    log.logger.error(new Error('401 from https://oen.example/refunds with "Authorization: Bearer oen-token-9"'));
    log.logger.warn('cannot reach postgres://refunds:db-pass-10@db.internal:5432/refunds');
    log.logger.info('secret whsec_c2VjcmV0LTEx= and ?orderId=O-1&token=qs-12 and OPERATOR_TOKEN=env-13');
    const [first, second, third] = log.lines();
    expect(first?.msg).toBe('401 from https://oen.example/refunds with "Authorization: [redacted]"');
    expect(second?.msg).toBe('cannot reach postgres://refunds:[redacted]@db.internal:5432/refunds');
    expect(third?.msg).toBe('secret whsec_[redacted] and ?orderId=O-1&token=[redacted] and OPERATOR_TOKEN=[redacted]');
    for (const secret of ['oen-token-9', 'db-pass-10', 'c2VjcmV0LTEx', 'qs-12', 'env-13']) expect(log.text()).not.toContain(secret);
  });

  it('redacts the secret part of a named API key anywhere in text, keeping its key id, and OPERATOR_SIGNING_KEY', () => {
    const log = capture();
    const secret = 'Zm9vYmFyLXNlY3JldC1wYXJ0LW9mLXRoZS1rZXktMTIz';
    log.logger.warn(`a key pasted into a reason: rf_0123456789ab_${secret}; OPERATOR_SIGNING_KEY=${'ab'.repeat(32)}`);
    expect(log.lines()[0]?.msg).toBe('a key pasted into a reason: rf_0123456789ab_[redacted]; OPERATOR_SIGNING_KEY=[redacted]');
    expect(log.text()).not.toContain(secret);
  });

  it('redacts secrets after a line break, after a comma, as "name: value", and as JSON members inside text', () => {
    const log = capture();
    log.logger.warn('env:\nOEN_TOKEN=supersecret-25\nPORT=8080');
    log.logger.warn('a=1,token=tok-26 and PAYLOAD_ENCRYPTION_KEYS=k1:a2V5LTMx,k2:a2V5LTMy=');
    log.logger.warn('sent Authorization: Basic dXNlcjpwdy0yNw== to MWD');
    log.logger.warn('PAYLOAD_ENCRYPTION_KEYS: k1:a2V5LTI4 and status: succeeded');
    log.logger.warn(`provider echoed {"cardToken":"ctok-29","orderId":"O-1"}`);
    log.logger.warn({ raw: JSON.stringify({ auth: { jwt: 'jwt-30' }, keyId: 'k1' }) }, 'nested JSON text');
    const [newline, comma, basic, colon, json, nested] = log.lines();
    expect(newline?.msg).toBe('env:\nOEN_TOKEN=[redacted]\nPORT=8080');
    expect(comma?.msg).toBe('a=1,token=[redacted] and PAYLOAD_ENCRYPTION_KEYS=[redacted]');
    expect(basic?.msg).toBe('sent Authorization: [redacted] to MWD');
    expect(colon?.msg).toBe('PAYLOAD_ENCRYPTION_KEYS: [redacted] and status: succeeded');
    expect(json?.msg).toBe('provider echoed {"cardToken":"[redacted]","orderId":"O-1"}');
    expect(nested?.raw).toBe('{"auth":{"jwt":"[redacted]"},"keyId":"k1"}');
    for (const secret of ['supersecret-25', 'tok-26', 'dXNlcjpwdy0yNw', 'a2V5LTI4', 'ctok-29', 'jwt-30', 'a2V5LTMx', 'a2V5LTMy'])
      expect(log.text()).not.toContain(secret);
  });

  it('takes more names for secrets: pwd, pass, auth, jwt, and any key but a key id', () => {
    for (const name of ['pwd', 'pass', 'auth', 'jwt', 'privateKeyPem', 'signingKeys', 'apiKey']) expect(isSecretKey(name), name).toBe(true);
    for (const name of ['keyId', 'accessKeyId', 'idempotencyKey', 'orderId', 'passenger', 'status']) expect(isSecretKey(name), name).toBe(false);
  });
});

describe('runtimeLogger: the Temporal SDK logger', () => {
  it('is what Runtime.install takes', () => {
    const logger: RuntimeOptions['logger'] = runtimeLogger(capture().logger);
    expect(typeof logger?.log).toBe('function');
  });

  it('maps TRACE…ERROR to pino levels and keeps the metadata as fields, without the timestamp symbol', () => {
    const log = capture('trace');
    const sdk = runtimeLogger(log.logger);
    const meta = { sdkComponent: 'activity', workflowId: 'oen-refund-P1', activityType: 'submitRefund', attempt: 2, [LogTimestamp]: 1n };
    sdk.trace('t', meta);
    sdk.debug('d', meta);
    sdk.info('i', meta);
    sdk.warn('w', meta);
    sdk.error('e', meta);
    sdk.log('WARN', 'via log', { sdkComponent: 'worker', msg: 'clash' });
    const lines = log.lines();
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      ['trace', 't'],
      ['debug', 'd'],
      ['info', 'i'],
      ['warn', 'w'],
      ['error', 'e'],
      ['warn', 'via log'],
    ]);
    for (const line of lines.slice(0, 5)) {
      expect(line).toMatchObject({ sdkComponent: 'activity', workflowId: 'oen-refund-P1', activityType: 'submitRefund', attempt: 2 });
    }
    expect(lines[5]).toMatchObject({ sdkComponent: 'worker', sdk_msg: 'clash' });
  });

  it("drops lines below the pino logger's level", () => {
    const log = capture('warn');
    const sdk = runtimeLogger(log.logger);
    sdk.info('quiet');
    sdk.debug('quieter');
    sdk.warn('loud');
    expect(log.lines().map((l) => l.msg)).toEqual(['loud']);
  });

  it('redacts SDK lines like every other line', () => {
    const log = capture();
    const sdk = runtimeLogger(log.logger);
    sdk.error(`Activity failed for card ${PAN_SPACED}`, {
      sdkComponent: 'activity',
      error: new Error(`provider answered ${PAN} with Bearer leaked-14`),
      headers: { authorization: 'Bearer leaked-15' },
      input: { cardToken: 'ctok-16', note: `card ${PAN_DASHED}` },
    });
    const line = log.last();
    expect(line).toMatchObject({
      level: 'error',
      msg: 'Activity failed for card ****4242',
      error: { type: 'Error', message: 'provider answered ****1111 with Bearer [redacted]' },
      headers: { authorization: '[redacted]' },
      input: { cardToken: '[redacted]', note: 'card ****4444' },
    });
    for (const pan of [PAN, PAN_SPACED, PAN_DASHED]) expect(holdsPan(log.text(), pan)).toBe(false);
    for (const secret of ['leaked-14', 'leaked-15', 'ctok-16']) expect(log.text()).not.toContain(secret);
  });
});

describe('the API with a logger, over HTTP', () => {
  it('logs each request as a JSON line with method, redacted URL and headers, status, duration and request id; never the body, a card number or a secret', async () => {
    const log = capture('info');
    const { app, close } = await apiWithoutTemporal({ logger: log.logger, operatorToken: 'operator-token-20' });
    app.get('/v1/explode', { config: { access: 'public' } }, () => {
      throw new Error(`provider echoed card ${PAN_SPACED} and Bearer leaked-token-17`);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const bodyMarker = 'BODY-MARKER-18';
    try {
      // Percent-encoded, so only a decoded look finds the card number.
      const list = await fetch(`${url}/v1/refunds?orderId=${encodeURIComponent(PAN_SPACED)}&token=qs-secret-19`, {
        headers: { authorization: 'Bearer operator-token-20', cookie: 'sid=cookie-secret-21' },
      });
      expect(list.status).toBe(422); // token is no parameter of the list
      const event = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'evt_log',
          'webhook-timestamp': '1',
          'webhook-signature': 'v1,c2lnbmF0dXJlLTIyLXNpZ25hdHVyZQ==',
        },
        body: JSON.stringify({ id: 'evt_log', type: 'refund.requested', data: { reason: `${bodyMarker} card ${PAN_DASHED}` } }),
      });
      expect(event.status).toBe(401);
      const approve = await fetch(`${url}/v1/refunds/RF-1/approve`, {
        method: 'POST',
        headers: { authorization: 'Bearer wrong-token-23', 'content-type': 'application/json' },
        body: JSON.stringify({ by: bodyMarker }),
      });
      expect(approve.status).toBe(401);
      expect((await fetch(`${url}/v1/explode`)).status).toBe(500);

      const completed = () => log.lines().filter((l) => l.msg === 'request completed');
      await expect.poll(() => completed().length).toBe(4);
      const lines = log.lines();
      expect(lines.every((l) => typeof l.level === 'string' && typeof l.time === 'string')).toBe(true);
      expect(completed().map((l) => [(l.req as { method: string }).method, (l.res as { statusCode: number }).statusCode])).toEqual([
        ['GET', 422],
        ['POST', 401],
        ['POST', 401],
        ['GET', 500],
      ]);
      for (const line of completed()) {
        expect(line.reqId).toMatch(/^[0-9a-f-]{36}$/);
        expect(line.responseTime).toEqual(expect.any(Number));
      }
      expect(new Set(completed().map((l) => l.reqId)).size).toBe(4);
      const [listLine, eventLine] = completed();
      expect(listLine?.req).toMatchObject({
        url: '/v1/refunds?orderId=****4242&token=[redacted]',
        headers: { authorization: '[redacted]', cookie: '[redacted]' },
      });
      expect(eventLine?.req).toMatchObject({ url: '/v1/events', headers: { 'webhook-signature': '[redacted]', 'webhook-id': 'evt_log' } });

      const errorLine = lines.find((l) => l.level === 'error' && l.err !== undefined);
      expect(errorLine).toMatchObject({
        msg: 'provider echoed card ****4242 and Bearer [redacted]',
        err: { message: 'provider echoed card ****4242 and Bearer [redacted]' },
      });
      expect(errorLine?.reqId).toBe(completed()[3]?.reqId);

      const text = log.text();
      for (const pan of [PAN, PAN_SPACED, PAN_DASHED]) expect(holdsPan(text, pan)).toBe(false);
      expect(text).not.toContain('4242%204242');
      for (const secret of ['qs-secret-19', 'operator-token-20', 'cookie-secret-21', 'c2lnbmF0dXJlLTIy', 'wrong-token-23', 'leaked-token-17', bodyMarker]) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await close();
    }
  });

  it('logs nothing without a logger, as before', async () => {
    const { app, close } = await apiWithoutTemporal({});
    try {
      const answer = await app.inject({ method: 'GET', url: '/healthz' });
      expect(answer.statusCode).toBe(200);
      // Fastify's no-op logger (abstract-logging), not a pino logger: no level, no output.
      expect(app.log.level).toBeUndefined();
    } finally {
      await close();
    }
  });
});

/**
 * The API on an in-memory ledger. None of these tests' requests reaches Temporal: its connection
 * stays lazy, never opened.
 */
async function apiWithoutTemporal(options: Pick<Parameters<typeof createApi>[0], 'logger' | 'operatorToken'>) {
  const db = await pgliteDatabase();
  await migrate(db);
  const connection = Connection.lazy({ address: inject('temporalAddress') });
  const app = apiOn(db, new Client({ connection }), options);
  return {
    app,
    close: async () => {
      await app.close();
      await connection.close();
      await db.close();
    },
  };
}
