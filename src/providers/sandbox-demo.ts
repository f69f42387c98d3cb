import { randomBytes, randomUUID } from 'node:crypto';
import type { MwdRefundRequested, OenRefundRequested } from '../domain/schemas/refund-request.js';
import { isLuhnValid } from '../domain/pan.js';
import { randomHid } from './oen/hid.js';

/**
 * A demo refund the sandbox emulators can carry out, made up fresh each time so that no earlier run
 * has refunded it: what `npm start` seeds for its banner and `npx refundflow sandbox seed` seeds on
 * request. `seed` is the body of the emulator's `POST /__admin/seed` (docs/sandbox.md), `request` the
 * refund.requested data that refunds it, and `demoCommand` the CLI command that sends it.
 */
export type SandboxDemo =
  | { provider: 'oen'; seed: { transactions: Array<{ id: string; orderId: string; amount: number }> }; request: OenRefundRequested }
  | { provider: 'mwd'; seed: { orders: Array<{ orderId: string; cardToken: string; amount: number }> }; request: MwdRefundRequested };

/** A charged card transaction of the Oen emulator: order `DEMO-<the HID's last 8>` unless `orderId` is given. */
export function oenDemo(amount: number, orderId?: string): SandboxDemo {
  const transactionHid = randomHid();
  const order = orderId ?? `DEMO-${transactionHid.slice(-8)}`;
  return {
    provider: 'oen',
    seed: { transactions: [{ id: transactionHid, orderId: order, amount }] },
    request: { refundId: `RF-${order}`, provider: 'oen', orderId: order, transactionHid, amount },
  };
}

/**
 * A card payment of the MWD emulator, with a CardToken in MWD's shape (`<uuid>_<16 digits>`, as the
 * document's example): order `DEMO-MWD-<8 characters>` unless `orderId` is given.
 */
export function mwdDemo(amount: number, orderId?: string): SandboxDemo {
  // Never a number that passes the Luhn check: a token must not look like a card number to the
  // engine's redaction and scans, or to a person reading the banner.
  const random = Array.from(randomBytes(16), (byte) => String(byte % 10)).join('');
  const digits = isLuhnValid(random) ? `${random.slice(0, 15)}${(Number(random[15]) + 1) % 10}` : random;
  const cardToken = `${randomUUID()}_${digits}`;
  const order =
    orderId ??
    `DEMO-MWD-${randomBytes(6)
      .toString('base64url')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, 'X')
      .slice(0, 8)}`;
  return {
    provider: 'mwd',
    seed: { orders: [{ orderId: order, cardToken, amount }] },
    request: { refundId: `RF-${order}`, provider: 'mwd', orderId: order, cardToken, amount },
  };
}

/** `refund --provider … --order … --amount … --refund-id … --wait`: the CLI's arguments that refund the demo, for after `npx refundflow`. */
export function demoCommand({ request }: SandboxDemo): string {
  const target = request.provider === 'oen' ? `--transaction ${request.transactionHid}` : `--card-token ${request.cardToken}`;
  return `refund --provider ${request.provider} --order ${request.orderId} ${target} --amount ${request.amount} --refund-id ${request.refundId} --wait`;
}
