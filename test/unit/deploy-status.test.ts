import { describe, expect, it } from 'vitest';
import { deploymentText } from '../../src/cli/deploy-commands.js';

/** `npx refundflow deploy status` as a person reads it: each build's state, its pinned runs, and what to do about it. */
describe('deploy status, printed', () => {
  it('says what each build is for and when its workers may stop', () => {
    const text = deploymentText({
      name: 'refundflow',
      current: '0.2.0-bbbbbbbbbbbb',
      ramping: { buildId: '0.3.0-cccccccccccc', percent: 10 },
      lastModifiedBy: 'temporal-cli',
      changedOutsideRefundflow: true,
      versions: [
        { buildId: '0.1.0-aaaaaaaaaaaa', state: 'draining', openPinnedRuns: 3 },
        { buildId: '0.1.1-dddddddddddd', state: 'drained', openPinnedRuns: 0 },
        { buildId: '0.2.0-bbbbbbbbbbbb', state: 'current', openPinnedRuns: 40 },
        { buildId: '0.3.0-cccccccccccc', state: 'ramping', openPinnedRuns: 4 },
        { buildId: '0.4.0-eeeeeeeeeeee', state: 'inactive', openPinnedRuns: 0 },
      ],
    }).split('\n');
    expect(lines(text)).toEqual([
      'deployment refundflow: current 0.2.0-bbbbbbbbbbbb',
      'ramping 0.3.0-cccccccccccc at 10 % of new runs',
      'last changed by temporal-cli (NOT through refundflow: not in the audit trail)',
      'build state pinned runs open',
      '0.1.0-aaaaaaaaaaaa draining 3 draining: keep its workers running for the 3 pinned runs',
      '0.1.1-dddddddddddd drained 0 drained: its workers may stop',
      '0.2.0-bbbbbbbbbbbb current 40 new runs start here',
      '0.3.0-cccccccccccc ramping 4 new runs start here',
      '0.4.0-eeeeeeeeeeee inactive 0 no new runs (deploy promote or deploy ramp to use it)',
    ]);
  });

  it('says when there is no deployment yet, and when none is current', () => {
    expect(deploymentText(null)).toBe('no Worker Deployment yet: no worker with WORKER_VERSIONING on has polled this Temporal');
    expect(deploymentText({ name: 'refundflow', changedOutsideRefundflow: false, versions: [] })).toBe(
      'deployment refundflow: current (none: new runs wait for a build to be made current)\n' +
        `  ${'build'.padEnd(50)} ${'state'.padEnd(10)} ${'pinned runs open'.padStart(16)}`,
    );
  });
});

/** The lines with their padding collapsed. */
function lines(text: string[]): string[] {
  return text.map((line) => line.trim().replace(/\s+/g, ' '));
}
