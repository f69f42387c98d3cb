import { z } from 'zod';

/**
 * A release's moves over HTTP (docs/api.md, "Releases"): which build of the engine's Worker
 * Deployment new runs start on. The API validates with these, and `npx refundflow deploy promote |
 * ramp` checks its arguments with their parts before asking.
 */

/** The characters a build id may have here (WORKER_BUILD_ID; src/release.ts makes the default one). */
export const BUILD_ID = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,254}$/;
const buildId = z.string().regex(BUILD_ID, 'must be a build id: letters, digits and . _ + - (at most 255), as `deploy status` lists them');
const reason = z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional();

/** POST /v1/deployment/promote: new runs start on this build from now on. */
export const promoteBody = z.object({ buildId, reason }).strict();

/** POST /v1/deployment/ramp: this share of new runs starts on this build; 0 ends the ramp. */
export const rampBody = z
  .object({
    buildId,
    percent: z.number({ error: 'must be a number from 0 to 100' }).min(0, 'must be 0 to 100').max(100, 'must be 0 to 100'),
    reason,
  })
  .strict();
