import { describe, expect, it } from 'vitest';
import { Admission } from '../../src/api/admission.js';

/** A ledger where the refunds in `done` are no longer worked (waiting for a person, or ended). */
function ledger(done: Set<string>) {
  return { noLongerWorked: (ids: string[]) => Promise.resolve(new Set(ids.filter((id) => done.has(id)))) };
}

describe('Admission: the places for refund runs an API process works at once', () => {
  it('gives places up to the limit, keeps a taken one, and frees one given back', () => {
    const admission = new Admission(ledger(new Set()), { limit: 2 });
    expect([admission.take('RF-1'), admission.take('RF-1'), admission.take('RF-2'), admission.take('RF-3')]).toEqual([true, true, true, false]);
    expect([admission.size, admission.room()]).toEqual([2, 0]);
    admission.release('RF-1');
    expect(admission.take('RF-3')).toBe(true);
    void admission.stop();
  });

  it('lets no new event pass those left waiting, until the dispatcher has caught up', () => {
    const admission = new Admission(ledger(new Set()), { limit: 1 });
    expect(admission.startNow('RF-1')).toBe(true);
    expect(admission.startNow('RF-2')).toBe(false);
    admission.release('RF-1');
    // A place is free, but RF-2 waits in the inbox: RF-3 waits behind it.
    expect(admission.startNow('RF-3')).toBe(false);
    admission.caughtUp();
    expect(admission.startNow('RF-3')).toBe(true);
    void admission.stop();
  });

  it('frees the places of runs the ledger shows done, and of runs it never showed after the expiry, and says so', async () => {
    const done = new Set<string>();
    let now = 0;
    const admission = new Admission(ledger(done), { limit: 3, expiryMs: 1_000, now: () => now });
    let told = 0;
    admission.onRoom(() => (told += 1));
    for (const id of ['RF-1', 'RF-2', 'RF-3']) admission.take(id);
    await admission.check();
    expect([admission.size, told]).toEqual([3, 0]);
    done.add('RF-2');
    await admission.check();
    expect([admission.size, told]).toEqual([2, 1]);
    now = 1_001;
    await admission.check();
    expect([admission.size, told]).toEqual([0, 2]);
    void admission.stop();
  });

  it('polls the ledger by itself while places are taken', async () => {
    const done = new Set<string>();
    const admission = new Admission(ledger(done), { limit: 1, pollMs: 10 });
    const freed = new Promise<void>((resolve) => admission.onRoom(resolve));
    admission.take('RF-1');
    done.add('RF-1');
    await freed;
    expect(admission.room()).toBe(1);
    await admission.stop();
  });
});
