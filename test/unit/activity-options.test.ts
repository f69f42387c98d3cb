import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Activities } from '../../src/activities/index.js';
import {
  profiles,
  retryAttemptsWithin,
  type DeliveryActivities,
  type InspectionActivities,
  type LedgerActivities,
  type PingActivities,
  type PolicyActivities,
  type ProviderActivities,
} from '../../src/workflows/activity-options.js';

// src/workflows/activity-options.ts: the options workflows call activities with, and which activities
// each kind of proxy may call. The type checks below are held by the type check (npm run typecheck).

const kinds = {} as {
  ledger: LedgerActivities;
  policy: PolicyActivities;
  delivery: DeliveryActivities;
  provider: ProviderActivities;
  inspection: InspectionActivities;
  ping: PingActivities;
};
type Kind = keyof typeof kinds;
type KeysOf<K extends Kind> = keyof (typeof kinds)[K];
/** The kinds an activity is of. */
type KindsOf<A extends keyof Activities> = { [K in Kind]: A extends KeysOf<K> ? K : never }[Kind];
/** Activities of no kind, or of more than one. */
type Misplaced = { [A in keyof Activities]: [KindsOf<A>] extends [never] ? A : IsUnion<KindsOf<A>> extends true ? A : never }[keyof Activities];
type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never;

describe('activity kinds', () => {
  it('every activity the worker registers is of exactly one kind', () => {
    expectTypeOf<Misplaced>().toEqualTypeOf<never>();
  });

  it('a ledger proxy reaches neither a provider nor Temporal; a provider proxy not the ledger', () => {
    const { ledger, provider, delivery } = kinds;
    const neverCalled = () => {
      // @ts-expect-error a provider call is not the ledger's
      void ledger.submitOenRefund;
      // @ts-expect-error asking Temporal about a run is an inspection, not the ledger's
      void ledger.refundRunOpen;
      // @ts-expect-error nor is Temporal's answer whether a closed run may be followed
      void ledger.mayFollowRefundRun;
      // @ts-expect-error the ledger is not a provider's
      void provider.recordStatus;
      // @ts-expect-error delivering an outcome sends nothing to a provider
      void delivery.submitMwdRefund;
    };
    expect(typeof neverCalled).toBe('function');
  });
});

describe('profiles', () => {
  const policy = { retryWindowMs: 600_000, failureTypes: { final: ['OenT0001', 'MwdRefused'], refusals: ['OenT0001'] } };

  it('a provider call is retried within the window, never on a final failure, and heartbeats', () => {
    const options = profiles.provider(policy, 'attempts');
    expect(options.retry).toMatchObject({ maximumAttempts: retryAttemptsWithin(600_000), nonRetryableErrorTypes: ['OenT0001', 'MwdRefused'] });
    expect(options.heartbeatTimeout).toBe('20 seconds');
  });

  it('a refund submission keeps its window in the ledger: no attempt limit from Temporal', () => {
    expect(profiles.provider(policy, 'ledger').retry?.maximumAttempts).toBeUndefined();
  });

  it('the ledger and an outcome delivery are retried until they answer; the quick delivery a few times only', () => {
    expect(profiles.ledger.retry).not.toHaveProperty('maximumAttempts');
    expect(profiles.delivery.untilDelivered.retry).not.toHaveProperty('maximumAttempts');
    expect(profiles.delivery.quick.retry.maximumAttempts).toBe(3);
  });

  it('for calls with no refund row, the retry window is the attempts the backoff fits in it', () => {
    expect(retryAttemptsWithin(5_000)).toBe(4); // 0.5 + 1 + 2 s of backoff
    expect(retryAttemptsWithin(600_000)).toBe(25); // 31.5 s, then 18 × 30 s
    expect(retryAttemptsWithin(0)).toBe(1);
  });
});
