import { z } from 'zod';

/**
 * The smallest real round trip through the engine: one workflow, one activity. `npm start` offers it
 * as a smoke test, and it is the no-op baseline the benchmark measures the refund path against.
 */
export const pingInput = z.object({
  message: z.string().max(200).default('ping'),
  /** How long the activity takes, to exercise in-flight work (shutdown, latency baselines). */
  delayMs: z.number().int().min(0).max(60_000).default(0),
});

export type PingInput = z.input<typeof pingInput>;

export const pingResult = z.object({
  message: z.string(),
  answeredAt: z.iso.datetime(),
});

export type PingResult = z.infer<typeof pingResult>;
