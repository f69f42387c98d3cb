import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives the contract defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      TEMPORAL_NAMESPACE: 'default',
      REFUNDS_TASK_QUEUE: 'refunds',
      PORT: 8080,
      RUNNING_REFUNDS_LIMIT: 50,
      SANDBOX_OEN_PORT: 8301,
      SANDBOX_MWD_PORT: 8302,
      TEMPORAL_DEV_PORT: 7233,
      TEMPORAL_UI_PORT: 8233,
      DATA_DIR: '.data',
      APPROVAL_TIMEOUT_SECONDS: 259200,
      PROVIDER_RETRY_WINDOW_SECONDS: 600,
      OEN_RATE_LIMIT: 20,
      MWD_RATE_LIMIT: 20,
      WORKER_MAX_CACHED_WORKFLOWS: 1000,
      WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: 40,
      WORKER_MAX_CONCURRENT_ACTIVITIES: 100,
      WORKER_DEPLOYMENT_NAME: 'refundflow',
      RECONCILE_INTERVAL_SECONDS: 900,
      RECONCILE_SUBMITTING_AFTER_SECONDS: 3600,
      RECONCILE_SUCCEEDED_DAYS: 7,
      RECONCILE_RESUBMIT: false,
      ALLOW_UNSIGNED_DECISIONS: false,
      OIDC_ROLES_CLAIM: 'roles',
      OIDC_CLOCK_SKEW_SECONDS: 60,
      CODEC_SERVER_PORT: 8234,
      METRICS_ADDRESS: '127.0.0.1:9464',
      LOG_LEVEL: 'info',
      SANDBOX_HOST: '127.0.0.1',
      AMQP_QUEUE: 'refundflow.events',
      AMQP_DEAD_LETTER_EXCHANGE: 'refundflow.events.dead',
      NATS_STREAM: 'REFUNDFLOW_EVENTS',
      NATS_SUBJECT: 'refundflow.events',
      NATS_CONSUMER: 'refundflow-intake',
      NATS_DEAD_LETTER_SUBJECT: 'refundflow.events.dead',
      OUTCOME_NATS_STREAM: 'REFUNDFLOW_OUTCOMES',
    });
  });

  it('takes the broker intakes: an AMQP URL, NATS servers comma-separated', () => {
    expect(
      loadConfig({
        AMQP_URL: 'amqps://refundflow:secret@rabbitmq.internal:5671/orders',
        AMQP_QUEUE: 'orders.refunds',
        NATS_URL: 'tls://refundflow:secret@nats-1.internal:4222, tls://nats-2.internal:4222',
        NATS_SUBJECT: 'orders.refunds',
      }),
    ).toMatchObject({
      AMQP_URL: 'amqps://refundflow:secret@rabbitmq.internal:5671/orders',
      AMQP_QUEUE: 'orders.refunds',
      NATS_URL: ['tls://refundflow:secret@nats-1.internal:4222', 'tls://nats-2.internal:4222'],
      NATS_SUBJECT: 'orders.refunds',
    });
  });

  it("takes the outcome relay's broker destinations, each on its broker's URL, apart from the intake's names", () => {
    const brokers = { AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672', NATS_URL: 'nats://127.0.0.1:4222' };
    expect(loadConfig({ ...brokers, OUTCOME_AMQP_EXCHANGE: 'refundflow.outcomes', OUTCOME_NATS_SUBJECT: 'refundflow.outcomes' })).toMatchObject({
      OUTCOME_AMQP_EXCHANGE: 'refundflow.outcomes',
      OUTCOME_NATS_SUBJECT: 'refundflow.outcomes',
      OUTCOME_NATS_STREAM: 'REFUNDFLOW_OUTCOMES',
    });
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(refused({ OUTCOME_AMQP_EXCHANGE: 'refundflow.outcomes' })).toMatch(/AMQP_URL.*is required when OUTCOME_AMQP_EXCHANGE is set/);
    expect(refused({ OUTCOME_NATS_SUBJECT: 'refundflow.outcomes' })).toMatch(/NATS_URL.*is required when OUTCOME_NATS_SUBJECT is set/);
    expect(refused({ ...brokers, OUTCOME_NATS_SUBJECT: 'refundflow.events' })).toMatch(/OUTCOME_NATS_SUBJECT.*must differ from NATS_SUBJECT/);
    expect(refused({ ...brokers, OUTCOME_NATS_SUBJECT: 'o', OUTCOME_NATS_STREAM: 'REFUNDFLOW_EVENTS' })).toMatch(
      /OUTCOME_NATS_STREAM.*must differ from NATS_STREAM/,
    );
    expect(refused({ ...brokers, OUTCOME_AMQP_EXCHANGE: 'refundflow.events' })).toMatch(/OUTCOME_AMQP_EXCHANGE.*must differ from AMQP_QUEUE/);
  });

  it('takes every contract variable', () => {
    const env = {
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'payments',
      REFUNDS_TASK_QUEUE: 'refunds-eu',
      DATABASE_URL: 'postgres://refundflow@db:5432/refunds',
      OEN_BASE_URL: 'https://payment-api.testing.oen.tw',
      OEN_TOKEN: 'oen-token',
      OEN_MERCHANT_ID: 'ming',
      MWD_BASE_URL: 'https://mwd.example.test',
      MWD_TOKEN: 'mwd-token',
      PORT: '9090',
      INGEST_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      OPERATOR_TOKEN: 'a-deprecated-shared-token-of-32-chars',
      OUTCOME_WEBHOOK_URL: 'https://order-management.internal/refund-outcomes',
      OUTCOME_WEBHOOK_SECRET: 'whsec_c2VjcmV0',
    };
    expect(loadConfig(env)).toMatchObject({ ...env, PORT: 9090 });
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ TEMPORAL_ADDRESS: '', PORT: '' })).toMatchObject({ PORT: 8080 });
    expect(loadConfig({ TEMPORAL_ADDRESS: '' }).TEMPORAL_ADDRESS).toBeUndefined();
  });

  it.each([
    [{ PORT: 'eighty' }, /^Invalid configuration: PORT must be a port number$/],
    [{ PORT: '70000' }, /^Invalid configuration: PORT must be a port between 1 and 65535$/],
    [{ APPROVAL_THRESHOLD: '1000.5' }, /APPROVAL_THRESHOLD must be a whole number of NT\$/],
    [{ PROVIDER_RETRY_WINDOW_SECONDS: '1' }, /PROVIDER_RETRY_WINDOW_SECONDS must be at least 5/],
    [{ TEMPORAL_ADDRESS: 'http://temporal:7233' }, /TEMPORAL_ADDRESS must be host:port/],
    [{ DATABASE_URL: 'mysql://db/refunds' }, /DATABASE_URL must be a PostgreSQL URL/],
    [{ OEN_BASE_URL: 'payment-api.oen.tw', OEN_TOKEN: 't', OEN_MERCHANT_ID: 'm' }, /OEN_BASE_URL must be an http\(s\) URL/],
    [{ INGEST_WEBHOOK_SECRET: 'not-a-secret' }, /INGEST_WEBHOOK_SECRET must be a Standard Webhooks secret/],
    [{ OEN_BASE_URL: 'https://payment-api.oen.tw', OEN_MERCHANT_ID: 'm' }, /OEN_TOKEN is required when OEN_BASE_URL is set/],
    [{ OEN_BASE_URL: 'https://payment-api.oen.tw', OEN_TOKEN: 't' }, /OEN_MERCHANT_ID is required when OEN_BASE_URL is set/],
    [{ MWD_BASE_URL: 'https://mwd.example.test' }, /MWD_TOKEN is required when MWD_BASE_URL is set/],
    [{ OUTCOME_WEBHOOK_URL: 'https://om.example.test/hook' }, /OUTCOME_WEBHOOK_SECRET is required when OUTCOME_WEBHOOK_URL is set/],
    [{ METRICS_ADDRESS: '9464' }, /METRICS_ADDRESS must be host:port to listen on/],
    [{ LOG_LEVEL: 'verbose' }, /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace/],
    [{ CODEC_SERVER_TOKEN: 'short' }, /CODEC_SERVER_TOKEN must be at least 16 characters/],
    [{ CODEC_ALLOWED_ORIGIN: 'localhost:8233' }, /CODEC_ALLOWED_ORIGIN must be an http\(s\) URL/],
    [{ RECONCILE_INTERVAL_SECONDS: '30' }, /RECONCILE_INTERVAL_SECONDS must be at least 60/],
    [{ RUNNING_REFUNDS_LIMIT: '-1' }, /RUNNING_REFUNDS_LIMIT must be 0 or more/],
    [{ RUNNING_REFUNDS_LIMIT: '2.5' }, /RUNNING_REFUNDS_LIMIT must be a whole number/],
    [{ RECONCILE_RESUBMIT: 'yes' }, /RECONCILE_RESUBMIT must be true or false/],
    [{ RECONCILE_SUBMITTING_AFTER_SECONDS: '600' }, /RECONCILE_SUBMITTING_AFTER_SECONDS must be more than PROVIDER_RETRY_WINDOW_SECONDS \+ 60/],
    [{ PROVIDER_RETRY_WINDOW_SECONDS: '7200' }, /RECONCILE_SUBMITTING_AFTER_SECONDS must be more than PROVIDER_RETRY_WINDOW_SECONDS \+ 60/],
    [{ AMQP_URL: 'http://rabbitmq:15672' }, /AMQP_URL must be an amqp:\/\/ or amqps:\/\/ URL/],
    [{ AMQP_QUEUE: 'amq.refunds' }, /AMQP_QUEUE must not start with amq\./],
    [{ AMQP_DEAD_LETTER_EXCHANGE: 'refundflow.events' }, /AMQP_DEAD_LETTER_EXCHANGE must differ from AMQP_QUEUE/],
    [{ NATS_URL: 'https://nats:4222' }, /NATS_URL\.0 must be nats:\/\/ or tls:\/\/ URLs/],
    [{ NATS_SUBJECT: 'refundflow.>' }, /NATS_SUBJECT must be a NATS subject without wildcards/],
    [{ NATS_STREAM: 'refund.events' }, /NATS_STREAM must be a JetStream name/],
    [{ NATS_DEAD_LETTER_SUBJECT: 'refundflow.events' }, /NATS_DEAD_LETTER_SUBJECT must differ from NATS_SUBJECT/],
  ])('refuses %o in one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (err) {
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it.each([
    [{ OPERATOR_SIGNING_KEY: 'abc' }, 'OPERATOR_SIGNING_KEY must be 64 hex digits'],
    [{ OPERATOR_VERIFY_KEYS: `${'a'.repeat(64)},nope` }, 'OPERATOR_VERIFY_KEYS.1 must be 64 hex digits'],
    [{ OIDC_ISSUER: 'https://login.example.com' }, 'OIDC_AUDIENCE is required when OIDC_ISSUER is set'],
    [{ DUAL_APPROVAL_THRESHOLD: '5000' }, 'APPROVAL_THRESHOLD is required when DUAL_APPROVAL_THRESHOLD is set'],
    [{ APPROVAL_THRESHOLD: '6000', DUAL_APPROVAL_THRESHOLD: '5000' }, 'DUAL_APPROVAL_THRESHOLD must be at least APPROVAL_THRESHOLD'],
    [{ ALLOW_UNSIGNED_DECISIONS: 'yes' }, 'ALLOW_UNSIGNED_DECISIONS must be true or false'],
  ])('refuses the operator settings %j, saying why', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig({ PORT: '0', SANDBOX_OEN_PORT: 'x' })).toThrow(/PORT .*; SANDBOX_OEN_PORT /);
  });

  it('never repeats a secret value in its message', () => {
    const secret = 'whsec_!!leaked-if-you-can-read-this';
    expect(() => loadConfig({ INGEST_WEBHOOK_SECRET: secret })).toThrow(ConfigError);
    try {
      loadConfig({ INGEST_WEBHOOK_SECRET: secret });
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
  });
});

describe('a process started with a bad environment', () => {
  it('stops at once with one line naming the variable', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/worker.ts'], {
      env: { ...process.env, REFUNDS_TASK_QUEUE: 'x', PORT: 'not-a-port' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe('Invalid configuration: PORT must be a port number');
  });
});
