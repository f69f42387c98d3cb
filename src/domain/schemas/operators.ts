import { z } from 'zod';
import { roles } from '../actor.js';

/**
 * Named API keys and the audit trail over HTTP (docs/api.md): the API validates with these, the
 * ledger holds keys to the same names, and `refundflow operator add` / `refundflow audit` check their
 * flags with their parts before asking.
 */

/** Names people and services can be given: letters, digits and . _ @ - (an e-mail address fits). */
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** A person: an OIDC subject (printable ASCII, at most 255) or a name like a key's. */
export const PERSON = /^[\x21-\x7e]{1,255}$/;

export const newKeyBody = z
  .object({
    name: z.string().regex(KEY_NAME, "must be 1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"),
    role: z.enum(roles),
    person: z
      .string()
      .regex(PERSON, 'must name the person the key is for: their OIDC subject where OIDC is used, else a name (1–255 printable characters, no spaces)')
      .optional(),
  })
  .strict();

export const auditQuery = z
  .object({
    refundId: z.string().min(1, 'must not be empty').optional(),
    actor: z.string().min(1, 'must not be empty').optional(),
    since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-29T08:00:00Z' }).optional(),
    limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
    cursor: z.string().regex(/^\d+$/, 'is not a cursor this API gave').optional(),
  })
  .strict();
