import { afterEach, describe, expect, it } from 'vitest';
import { handleShutdownSignals } from '../src/shutdown.js';

let remove: (() => void) | undefined;

afterEach(() => remove?.());

describe('handleShutdownSignals', () => {
  it('stops once on the first signal, treats a quick repeat as the same request and a later one as "now"', () => {
    let clock = 1_000;
    const calls: string[] = [];
    remove = handleShutdownSignals({ stop: (signal) => calls.push(`stop ${signal}`), force: () => calls.push('force') }, () => clock);

    process.emit('SIGINT', 'SIGINT');
    clock += 500; // npm relaying the same Ctrl-C
    process.emit('SIGINT', 'SIGINT');
    expect(calls).toEqual(['stop SIGINT']);

    clock += 5_000; // the operator presses Ctrl-C again
    process.emit('SIGTERM', 'SIGTERM');
    expect(calls).toEqual(['stop SIGINT', 'force']);
  });
});
