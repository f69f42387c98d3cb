import { z } from 'zod';

/**
 * An id the provider clients put into a URL path as one segment (Oen's `/order/<orderId>/…` and
 * `/subscriptions/<subscriptionId>`, MWD's `/v1/payment/mwd/<orderId>/refund`). encodeURIComponent
 * leaves `.` as it is, and a URL's path is normalised before it is sent: an id of `..` would turn
 * `/order/../transactions` into `/transactions`, another endpoint of the provider. So the ids the
 * WHATWG URL standard reads as a dot segment — `.` or `..`, with any of their dots written `%2e` —
 * are refused here, whatever client builds the path.
 */
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

export const dotSegmentProblem = 'must not be "." or ".." (it would name another path at the provider)';

export function isDotSegment(id: string): boolean {
  return DOT_SEGMENT.test(id);
}

/** A non-empty id of at most `max` characters that is safe as one segment of a provider's URL path. */
export function pathSegmentId(max?: number) {
  const base = z.string().min(1, 'must not be empty');
  return (max === undefined ? base : base.max(max, `must be at most ${max} characters`)).refine((id) => !isDotSegment(id), dotSegmentProblem);
}
