import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers inside the test processes log only what may explain a failure.
Runtime.install({ logger: new DefaultLogger('WARN') });
