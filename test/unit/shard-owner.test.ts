import { describe, expect, it } from 'vitest';
import { shardOwner } from '../../scripts/cluster/history-hosts.js';

/** A protobuf field as the wire format writes it: key (field << 3 | wire type), then the value. */
const varint = (n: number): number[] => {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  return [...out, n];
};
const text = (field: number, value: string) => {
  const bytes = [...new TextEncoder().encode(value)];
  return [...varint((field << 3) | 2), ...varint(bytes.length), ...bytes];
};
const number = (field: number, value: number) => [...varint(field << 3), ...varint(value)];

describe("a shard row's owner (the chaos run's evidence that a history host is back)", () => {
  const owner = '127.0.0.1:7236-3-8e5b2f0a-2a4e-4d55-9d7e-0a1b2c3d4e5f';

  it('reads field 3 of a ShardInfo, past the fields before and after it', () => {
    const fixed64 = [(9 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8];
    const fixed32 = [(10 << 3) | 5, 1, 2, 3, 4];
    const data = Uint8Array.from([...number(1, 7), ...number(2, 123_456_789_012), ...fixed64, ...fixed32, ...text(3, owner), ...text(4, 'later')]);
    expect(shardOwner(data)).toBe(owner);
  });

  it('answers no owner for a message without one, cut short, or in a form it does not know', () => {
    expect(shardOwner(Uint8Array.from([...number(1, 7), ...number(2, 9)]))).toBe('');
    const cut = Uint8Array.from(text(3, owner)).subarray(0, 20);
    expect(shardOwner(cut)).toBe('');
    expect(shardOwner(Uint8Array.from([0x80]))).toBe('');
    expect(shardOwner(Uint8Array.from([(3 << 3) | 3, 0]))).toBe('');
  });
});
