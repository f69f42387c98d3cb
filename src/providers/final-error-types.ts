import { mwdRules } from './mwd/errors.js';
import { oenRules } from './oen/errors.js';

const rules = [...oenRules, ...mwdRules];

/**
 * Every final failure type of both providers' tables: the provider activities' retry policy lists
 * them in `nonRetryableErrorTypes`, so even a failure thrown without the nonRetryable flag is not
 * retried. Runs read both lists with their policy (src/activities/ledger.ts, `refundPolicy`).
 */
export const finalErrorTypes: readonly string[] = rules.filter((rule) => rule.kind === 'final').map((rule) => rule.type);

/**
 * The only failure types that may end a refund `failed` (money-safety rule 6): a documented refusal
 * given before the provider acted (`refusal` in its rule). Oen: A0001, V0001, T0001–T0005 on the
 * refund call (V0002 is checked first, and settled by what the check shows); MWD: an answer in its
 * own format whose codes all agree on a refusal. Any other end without a refund proven is
 * `requires_attention`.
 */
export const refusalTypes: readonly string[] = rules.filter((rule) => rule.refusal).map((rule) => rule.type);
