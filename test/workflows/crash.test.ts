import { describeWorkerCrash } from './crash-cases.js';

/** A worker process killed in the middle of a provider call, on the dev server; test/cluster/worker-crash.test.ts runs the same on the cluster. */
describeWorkerCrash('dev');
