import { describeWorkerCrash } from '../workflows/crash-cases.js';

/** test/workflows/crash.test.ts's cases on the suite's cluster, with the ledger on PostgreSQL. */
describeWorkerCrash('cluster');
