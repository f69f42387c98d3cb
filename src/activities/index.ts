import { createInputActivities } from './input.js';
import { createLedgerActivities, type LedgerActivityDeps } from './ledger.js';
import { createMwdActivities } from './mwd.js';
import { createOenActivities } from './oen.js';
import { createOutcomeActivities, type OutcomeDeps } from './outcome.js';
import { createPingActivities, type PingDeps } from './ping.js';
import { createReconcileActivities } from './reconcile.js';
import { createResolveActivities } from './resolve.js';
import type { ReconcilePolicy } from '../domain/reconcile.js';
import { AuditTrail } from '../ledger/audit.js';
import type { ReconciliationLedger } from '../ledger/reconciliation.js';
import type { ResolutionLedger } from '../ledger/resolution.js';
import type { ProviderClients } from '../providers/index.js';

export interface ActivityDeps extends PingDeps, LedgerActivityDeps, OutcomeDeps {
  providers: ProviderClients;
  reconciliation: ReconciliationLedger;
  resolution: ResolutionLedger;
  reconcile: ReconcilePolicy;
}

/** Every activity the worker registers, built over the dependencies it is handed. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPingActivities(deps),
    ...createInputActivities(deps),
    ...createLedgerActivities(deps),
    ...createOenActivities({ oen: deps.providers.oen, ledger: deps.ledger, metrics: deps.metrics }),
    ...createMwdActivities({ mwd: deps.providers.mwd, ledger: deps.ledger, metrics: deps.metrics }),
    ...createOutcomeActivities(deps),
    ...createReconcileActivities({
      oen: deps.providers.oen,
      reconciliation: deps.reconciliation,
      reconcile: deps.reconcile,
      audit: new AuditTrail(deps.ledger.db),
    }),
    ...createResolveActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
