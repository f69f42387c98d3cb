import { timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-id`, `webhook-timestamp`
 * (Unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, with a
 * tolerance of 5 minutes either way. The library does the cryptography; this module turns its
 * refusals into messages the sender can act on. Used for inbound events and for outcome events.
 */

export const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;
/** How far a `webhook-timestamp` may be from this machine's clock, either way. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

export type SignatureCheck = { ok: true; webhookId: string } | { ok: false; reason: string };

export class Signer {
  private readonly webhook: Webhook;

  /** `secret`: `whsec_` followed by base64, as the configuration validates it. */
  constructor(secret: string) {
    this.webhook = new Webhook(secret);
  }

  /** The three headers for `body` sent now (or at `at`). */
  sign(webhookId: string, body: string, at: Date = new Date()): Record<(typeof SIGNATURE_HEADERS)[number], string> {
    return {
      'webhook-id': webhookId,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': this.webhook.sign(webhookId, at, body),
    };
  }

  /**
   * Checks `body` (the raw bytes as received) against its headers, by this machine's clock: signed at
   * most SIGNATURE_TOLERANCE_SECONDS ahead, and at most `maxAgeSeconds` ago (by default the same
   * tolerance; a broker message may have waited in its queue for longer, docs/api.md "Signatures on
   * broker messages").
   */
  verify(body: string, headers: Record<string, string | string[] | undefined>, { maxAgeSeconds = SIGNATURE_TOLERANCE_SECONDS } = {}): SignatureCheck {
    const values: Record<string, string> = {};
    const missing: string[] = [];
    for (const name of SIGNATURE_HEADERS) {
      const value = headers[name];
      const single = Array.isArray(value) ? value[0] : value;
      if (single === undefined || single === '') missing.push(name);
      else values[name] = single;
    }
    if (missing.length > 0) {
      return { ok: false, reason: `missing signature header${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (Standard Webhooks)` };
    }
    const timestamp = Number(values['webhook-timestamp']);
    if (!/^\d+$/.test(values['webhook-timestamp'] ?? '') || !Number.isSafeInteger(timestamp)) {
      return { ok: false, reason: 'webhook-timestamp must be the signing time in whole Unix seconds' };
    }
    const skew = timestamp - Math.floor(Date.now() / 1000);
    if (skew > SIGNATURE_TOLERANCE_SECONDS || -skew > maxAgeSeconds) {
      const direction = skew < 0 ? 'behind' : 'ahead of';
      const most = skew < 0 ? maxAgeSeconds : SIGNATURE_TOLERANCE_SECONDS;
      return {
        ok: false,
        reason:
          `webhook-timestamp is ${Math.abs(skew)} seconds ${direction} our clock; at most ${most} are accepted. ` +
          'Sign each delivery when it is sent, and check the sender clock',
      };
    }
    const refused = {
      ok: false as const,
      reason:
        'no signature in webhook-signature matches this body: check the secret, and sign "<webhook-id>.<webhook-timestamp>.<body>" ' +
        'over the exact bytes sent',
    };
    if (maxAgeSeconds > SIGNATURE_TOLERANCE_SECONDS) {
      // The library checks the age itself, against its own 5 minutes: here the library signs the
      // delivery again, and the signatures are compared (in constant time).
      const expected = Buffer.from(this.webhook.sign(values['webhook-id'] ?? '', new Date(timestamp * 1000), body).slice('v1,'.length));
      const given = (values['webhook-signature'] ?? '').split(' ').map((versioned) => versioned.split(','));
      const matches = given.some(([version, signature]) => version === 'v1' && signature !== undefined && equalBytes(Buffer.from(signature), expected));
      return matches ? { ok: true, webhookId: values['webhook-id'] ?? '' } : refused;
    }
    try {
      // The body is parsed later, by the caller: a signed body that is not JSON gets its own answer.
      this.webhook.verify(body, values, { jsonParse: false });
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      return refused;
    }
    return { ok: true, webhookId: values['webhook-id'] ?? '' };
  }
}

function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
