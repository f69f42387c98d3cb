import { describeApiCrash } from '../api/crash-cases.js';

/** test/api/crash.test.ts's case on the suite's cluster, with the ledger on PostgreSQL. */
describeApiCrash('cluster');
