import { createPingActivities, type PingDeps } from './ping.js';

export type ActivityDeps = PingDeps;

/** Every activity the worker registers, built over the dependencies it is handed. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPingActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
