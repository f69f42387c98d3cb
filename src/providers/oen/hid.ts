import { randomBytes } from 'node:crypto';

/**
 * A random transaction HID in Oen's shape (P + the date + 8 characters): what `npx refundflow sandbox
 * seed` and the emulator's tests give a charged transaction they make up.
 */
export function randomHid(date = new Date()): string {
  const day = date.toISOString().slice(0, 10).replaceAll('-', '');
  return `P${day}${randomBytes(6)
    .toString('base64url')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, 'X')
    .slice(0, 8)}`;
}
