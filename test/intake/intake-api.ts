import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, vi } from 'vitest';
import type { MessageResult } from '../../src/api/brokers/monitor.js';
import { startApi, type RunningApi } from '../../src/api/main.js';
import { apiMetricNames } from '../../src/api/metrics.js';
import { loadConfig } from '../../src/config.js';
import type { BrokerIntakeName } from '../../src/domain/intakes.js';
import { maskPans } from '../../src/domain/pan.js';
import type { Database } from '../../src/ledger/database.js';
import { createLogger } from '../../src/logging.js';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret } from '../helpers/api.js';
import type { Engine } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { sandboxRefunds } from '../helpers/sandbox.js';
import { testLog } from '../helpers/test-logs.js';

/** The API (src/api/main.ts's startApi, as `npm start` runs it) with its broker intakes, on a test file's engine. */
export interface IntakeApi {
  api: RunningApi;
  url: string;
  secret: string;
  signer: Signer;
  /** The API's log lines so far (JSON), also printed with a failed test's logs. */
  logs: string[];
  close(): Promise<void>;
}

/**
 * Starts the API on `db` (the engine's PGlite ledger unless given) with `env` (the broker variables)
 * and INGEST_WEBHOOK_SECRET set (unless `signed` is false); resolves once each intake in `waitFor`
 * consumes. The refunds it starts run on the file's worker (useIntakeWorker).
 */
export async function startIntakeApi(
  engine: Engine,
  env: Record<string, string>,
  { db = engine.db, waitFor = [] as BrokerIntakeName[], signed = true }: { db?: Database; waitFor?: BrokerIntakeName[]; signed?: boolean } = {},
): Promise<IntakeApi> {
  const { temporal } = engine;
  const secret = newWebhookSecret();
  const [port] = await freePorts(1);
  const logs: string[] = [];
  const logger = createLogger({
    level: 'info',
    name: 'api',
    destination: {
      write(line: string) {
        logs.push(line);
        testLog(line.trimEnd(), Date.now());
      },
    },
  });
  const config = loadConfig({
    TEMPORAL_ADDRESS: temporal.address,
    REFUNDS_TASK_QUEUE: temporal.taskQueue,
    PORT: String(port),
    ...(signed && { INGEST_WEBHOOK_SECRET: secret }),
    ...env,
  });
  const api = await startApi({ config, client: temporal.client, db, webhookSecret: secret, host: '127.0.0.1', logger });
  for (const intake of waitFor) {
    await vi.waitFor(
      () => {
        if (!api.intakeMonitor.isUp(intake)) throw new Error(`the ${intake} intake does not consume yet`);
      },
      { timeout: 30_000, interval: 50 },
    );
  }
  return {
    api,
    url: `http://127.0.0.1:${port}`,
    secret,
    signer: new Signer(secret),
    logs,
    close: () => api.close(),
  };
}

/** One worker on the engine's task queue for a whole test file (Temporal takes one per queue and process), on `ledger`'s database (the engine's by default). */
export function useIntakeWorker(engine: () => Engine, deps: () => Parameters<Engine['worker']>[1] = () => ({})): void {
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    worker = await engine().worker({ PROVIDER_RETRY_WINDOW_SECONDS: '5' }, deps());
    running = worker.run();
  });
  afterAll(async () => {
    worker?.shutdown();
    await running;
  });
}

/** Waits for a refund to end in the ledger; answers its status. */
export async function finalStatus(engine: Engine, refundId: string, timeout = 60_000): Promise<string | undefined> {
  let status: string | undefined;
  await expect
    .poll(
      async () => {
        status = (await engine.ledger.get(refundId))?.status;
        return status !== undefined && ['succeeded', 'failed', 'requires_attention', 'cancelled'].includes(status);
      },
      { timeout, interval: 200, message: `refund ${refundId} ends` },
    )
    .toBe(true);
  return status;
}

/** The refunds the Oen emulator made of a transaction. */
export async function providerRefunds(engine: Engine, transactionHid: string) {
  return (await sandboxRefunds(engine.sandboxes.oenUrl)).filter((r) => r.reference === transactionHid);
}

/** How many of an intake's messages had `result`, as its /metrics counts them (refundflow_intake_messages_total). */
export async function counted(intakeApi: IntakeApi, intake: BrokerIntakeName, result: MessageResult): Promise<number> {
  const counter = intakeApi.api.intakeMonitor.registry.getSingleMetric(apiMetricNames.intakeMessages);
  const values = (await counter?.get())?.values ?? [];
  return values.find((v) => v.labels.intake === intake && v.labels.result === result)?.value ?? 0;
}

/**
 * Whether a kept refusal's body (rejected_requests.body) holds `eventId`. The kept body has every
 * Luhn-valid run of 13–19 digits masked, and a random UUID's digits pass for one about once in 400
 * (`evt_…-4123-8123-412345678901`): the id is looked for as the masking keeps it.
 */
export function keptBodyMentions(body: string, eventId: string): boolean {
  return body.includes(maskPans(eventId));
}
