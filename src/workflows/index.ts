// The workflow bundle's entry: every workflow type the worker runs is exported here.
import type { VersioningBehavior } from '@temporalio/common';
import { setWorkflowOptions, workflowInfo } from '@temporalio/workflow';
import { cancelSubscriptionWorkflow } from './cancel-subscription.js';
import { pingWorkflow } from './ping.js';
import { reconcileWorkflow } from './reconcile.js';
import { refundOrderWorkflow } from './refund-order.js';
import { refundWorkflow } from './refund.js';
import { resolveWorkflow } from './resolve.js';

export { cancelSubscriptionWorkflow, pingWorkflow, reconcileWorkflow, refundOrderWorkflow, refundWorkflow, resolveWorkflow };

// With Worker Versioning on (WORKER_VERSIONING), how each type's runs move between builds
// (docs/engine.md, "Releases"; the worker's default for a type not named here is PINNED). A worker
// without versioning is refused any behavior by Temporal: the behavior is given only to a run whose
// task a versioned worker took (its version names a deployment; an unversioned worker's has only a
// build id), and unversioned workers run as before.
const onVersionedWorker = (versioningBehavior: VersioningBehavior) => () =>
  workflowInfo().currentDeploymentVersion?.deploymentName ? { versioningBehavior } : {};

// PINNED: a run finishes on the build it started on. A refund may wait days for an approver, an
// order's run waits for its refunds, a resolution for its second person, and each of them holds
// money-moving steps whose order a new build could change under it.
setWorkflowOptions(onVersionedWorker('PINNED'), refundWorkflow);
setWorkflowOptions(onVersionedWorker('PINNED'), refundOrderWorkflow);
setWorkflowOptions(onVersionedWorker('PINNED'), resolveWorkflow);
setWorkflowOptions(onVersionedWorker('PINNED'), cancelSubscriptionWorkflow);
// AUTO_UPGRADE: reconciliation is short, scheduled, and continues as new; the ping holds nothing.
// Each moves to the current build at its next task, so an old build's workers are not kept for them.
setWorkflowOptions(onVersionedWorker('AUTO_UPGRADE'), reconcileWorkflow);
setWorkflowOptions(onVersionedWorker('AUTO_UPGRADE'), pingWorkflow);
