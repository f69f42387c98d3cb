import { describeApiCrash } from './crash-cases.js';

/** The API process killed between the inbox write and the workflow start, on the dev server; test/cluster/api-crash.test.ts runs the same on the cluster. */
describeApiCrash('dev');
