import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { noMetrics, type EngineMetrics } from '../domain/metrics.js';
import { runtimeLogger } from '../logging.js';
import { engineMetrics } from '../metrics.js';

/**
 * The process's Temporal Runtime, once, before any connection: the Prometheus exporter on
 * METRICS_ADDRESS (`/metrics`: the SDK's metrics and ours) unless it is `off`, the SDK's and the
 * activities' log lines into our JSON logger (src/logging.ts), and no signal
 * handling of its own: each entry point says what a signal stops, and in what order (see
 * src/shutdown.ts). Returns the engine's metrics, recorded through the Runtime's meter.
 */
export function installRuntime(config: Pick<Config, 'METRICS_ADDRESS'>, logger: Logger): EngineMetrics {
  const exported = config.METRICS_ADDRESS !== 'off';
  try {
    Runtime.install({
      shutdownSignals: [],
      logger: runtimeLogger(logger),
      ...(exported && {
        telemetryOptions: { metrics: { metricPrefix: 'temporal_', prometheus: { bindAddress: config.METRICS_ADDRESS, countersTotalSuffix: true } } },
      }),
    });
  } catch (err) {
    if (!(err instanceof Error) || !/prometheus/i.test(err.message)) throw err;
    throw new Error(`Cannot serve metrics on METRICS_ADDRESS=${config.METRICS_ADDRESS} (${err.message}); set a free host:port, or off`);
  }
  return exported ? engineMetrics(Runtime.instance().metricMeter) : noMetrics;
}

/** Where `/metrics` is served, for the logs and the banner. */
export function metricsUrl(config: Pick<Config, 'METRICS_ADDRESS'>): string | undefined {
  if (config.METRICS_ADDRESS === 'off') return undefined;
  const [host, port] = config.METRICS_ADDRESS.split(':');
  return `http://${host === '0.0.0.0' ? 'localhost' : host}:${port}/metrics`;
}
