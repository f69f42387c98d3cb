import { ConfigError, type Config } from '../config.js';
import type { EngineMetrics } from '../domain/metrics.js';
import type { Queryable } from '../ledger/database.js';
import type { ProviderClients } from '../providers/index.js';
import { MwdClient } from '../providers/mwd/client.js';
import { OenClient } from '../providers/oen/client.js';
import { SharedRateLimiter, unlimited, type RateLimiter } from '../providers/rate-limit.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN } from '../providers/sandbox-credentials.js';

/** Where the emulators listen when a provider's URL is not configured. */
export interface SandboxUrls {
  oenUrl: string;
  mwdUrl: string;
}

/**
 * The clients the engine uses: the configured endpoints where OEN_BASE_URL / MWD_BASE_URL are set
 * (config validation has made sure their credentials are too), the sandbox emulators otherwise.
 */
function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new ConfigError(`Invalid configuration: ${name} is required`);
  return value;
}

/** OEN_RATE_LIMIT / MWD_RATE_LIMIT, kept in the ledger database so they hold across every worker on it. */
export function rateLimitersFrom(config: Pick<Config, 'OEN_RATE_LIMIT' | 'MWD_RATE_LIMIT'>, db: Queryable): Record<'oen' | 'mwd', RateLimiter> {
  const limiter = (provider: 'oen' | 'mwd', perSecond: number | 'off') => (perSecond === 'off' ? unlimited : new SharedRateLimiter(db, provider, perSecond));
  return { oen: limiter('oen', config.OEN_RATE_LIMIT), mwd: limiter('mwd', config.MWD_RATE_LIMIT) };
}

export function createProviderClients(
  config: Config,
  sandbox: SandboxUrls,
  metrics?: Pick<EngineMetrics, 'providerCall'>,
  limiters?: Record<'oen' | 'mwd', RateLimiter>,
): ProviderClients {
  return {
    oen: new OenClient({
      ...(config.OEN_BASE_URL
        ? {
            baseUrl: config.OEN_BASE_URL,
            token: required(config.OEN_TOKEN, 'OEN_TOKEN'),
            merchantId: required(config.OEN_MERCHANT_ID, 'OEN_MERCHANT_ID'),
          }
        : { baseUrl: sandbox.oenUrl, token: config.OEN_TOKEN ?? SANDBOX_TOKEN, merchantId: SANDBOX_OEN_MERCHANT_ID }),
      ...(metrics && { metrics }),
      ...(limiters && { limiter: limiters.oen }),
    }),
    mwd: new MwdClient({
      ...(config.MWD_BASE_URL
        ? { baseUrl: config.MWD_BASE_URL, token: required(config.MWD_TOKEN, 'MWD_TOKEN') }
        : { baseUrl: sandbox.mwdUrl, token: config.MWD_TOKEN ?? SANDBOX_TOKEN }),
      ...(metrics && { metrics }),
      ...(limiters && { limiter: limiters.mwd }),
    }),
  };
}

/** The sandbox addresses a standalone worker assumes for unset provider URLs (`npm run sandbox`). */
export function defaultSandboxUrls(config: Config): SandboxUrls {
  return { oenUrl: `http://127.0.0.1:${config.SANDBOX_OEN_PORT}`, mwdUrl: `http://127.0.0.1:${config.SANDBOX_MWD_PORT}` };
}
