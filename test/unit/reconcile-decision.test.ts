import { describe, expect, it } from 'vitest';
import type { OenShows } from '../../src/domain/oen-shows.js';
import { leftForPerson, notToSendAgain, reconcileAction, runEndedAction, sentAgain, type Reconciled } from '../../src/domain/reconcile-decision.js';
import type { RefundStatus } from '../../src/domain/refund-status.js';
import type { DecisionRecord } from '../../src/domain/operator.js';

// Reconciliation's decision for one refund (docs/reconciliation.md, "What one run does"), without a server.
const refund = (status: RefundStatus, error?: Reconciled['error']): Reconciled => ({
  status,
  transactionHid: 'P1',
  workflowId: 'oen-refund-P1',
  ...(error && { error }),
});
const refunded: OenShows = { kind: 'refunded', evidence: 'Oen lists P1: refunded' };
const charged: OenShows = { kind: 'charged', evidence: 'Oen lists P1: charged' };
const unexplained: OenShows = { kind: 'unexplained', evidence: 'Oen shows NT$400 refunded on P1' };
const unreachable: OenShows = { kind: 'unreachable', evidence: 'Oen could not be asked: 503' };
const resubmit = { resubmit: true };
const leave = { resubmit: false };
const decide = (record: Reconciled, shows: OenShows, policy = leave, runOpen = false) => reconcileAction(record, shows, policy, runOpen);
const inDoubt = ['requires_attention', 'submitting'] as const;

describe('reconcileAction: a refund in doubt (requires_attention, or submitting past the threshold)', () => {
  it.each(inDoubt)('%s that Oen shows refunded becomes succeeded, with the transaction as the reference', (status) => {
    expect(decide(refund(status), refunded, resubmit)).toEqual({
      kind: 'move',
      to: 'succeeded',
      outcome: 'resolved',
      evidence: refunded.evidence,
      fields: { providerReference: 'P1', error: null },
    });
  });

  it('a FailedButRefunded one stays with a person, however plainly Oen shows the refund', () => {
    const record = refund('requires_attention', { code: 'FailedButRefunded', message: 'the ledger recorded this refund as failed …' });
    expect(decide(record, refunded, resubmit)).toEqual({ kind: 'note', outcome: 'left_for_person', evidence: refunded.evidence });
  });

  it.each(inDoubt)('%s that Oen shows still charged is sent again when the policy says so', (status) => {
    expect(decide(refund(status), charged, resubmit)).toEqual({ kind: 'resubmit', evidence: charged.evidence });
  });

  it('with resubmission off, one still charged is left for a person: noted when it is with one already, moved to one from submitting', () => {
    const why = `${charged.evidence}; not sent again (RECONCILE_RESUBMIT is off): a person decides`;
    expect(decide(refund('requires_attention'), charged)).toEqual({ kind: 'note', outcome: 'left_for_person', evidence: why });
    expect(decide(refund('submitting'), charged)).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'left_for_person',
      evidence: charged.evidence,
      fields: { error: { code: 'OenNotRefunded', message: why } },
    });
  });

  it('a state nobody can explain: submitting goes to a person; one with a person keeps the evidence, and the first reason', () => {
    expect(decide(refund('submitting'), unexplained, resubmit)).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'unexplained',
      evidence: unexplained.evidence,
      fields: { error: { code: 'OenStateUnexplained', message: unexplained.evidence } },
    });
    expect(decide(refund('requires_attention', { code: 'OenHttp500', message: 'server error' }), unexplained, resubmit)).toEqual({
      kind: 'attach',
      error: { code: 'OenStateUnexplained', message: `${unexplained.evidence}; first handed to a person as OenHttp500: server error` },
      evidence: unexplained.evidence,
    });
  });

  it('submitting whose run (or the run that claimed it) is still open is left to it, whatever Oen shows', () => {
    for (const shows of [refunded, charged, unexplained, unreachable]) {
      expect(decide(refund('submitting'), shows, resubmit, true)).toEqual({
        kind: 'note',
        outcome: 'still_running',
        evidence: 'its run oen-refund-P1, or the run that claimed it, is still open; left to it',
      });
    }
  });
});

describe('reconcileAction: Oen could not be asked', () => {
  it.each(['requires_attention', 'submitting', 'succeeded', 'failed'] as const)('%s: nothing is known, so nothing is done', (status) => {
    expect(decide(refund(status), unreachable, resubmit)).toEqual({ kind: 'note', outcome: 'provider_unreachable', evidence: unreachable.evidence });
  });

  it('an answer of a kind no judgement gives is read as nothing known: never as still charged, never sent', () => {
    const unknown = { kind: 'not charged', evidence: 'from a history written by other code' } as unknown as OenShows;
    expect(decide(refund('requires_attention'), unknown, resubmit)).toEqual({ kind: 'note', outcome: 'provider_unreachable', evidence: unknown.evidence });
  });
});

describe('reconcileAction: a recent success', () => {
  it('Oen shows it refunded: confirmed, and not asked about again', () => {
    expect(decide(refund('succeeded'), refunded, resubmit)).toEqual({ kind: 'count', outcome: 'confirmed', confirm: true });
  });

  it.each([charged, unexplained])('Oen shows it $kind: a mismatch for a person, never sent again', (shows) => {
    expect(decide(refund('succeeded'), shows, resubmit)).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'mismatch',
      evidence: shows.evidence,
      fields: { error: { code: 'ReconcileMismatch', message: `the ledger recorded this refund as succeeded, but ${shows.evidence}` } },
    });
  });
});

describe('reconcileAction: a recent failure', () => {
  const failed = refund('failed', { code: 'OenT0001', message: 'refused' });

  it('Oen shows it still charged: the ledger is borne out (counted, asked again on later runs)', () => {
    expect(decide(failed, charged, resubmit)).toEqual({ kind: 'count', outcome: 'confirmed' });
  });

  it('Oen shows it refunded after all: FailedButRefunded, a mismatch for a person', () => {
    expect(decide(failed, refunded, resubmit)).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'mismatch',
      evidence: refunded.evidence,
      fields: {
        error: {
          code: 'FailedButRefunded',
          message: `the ledger recorded this refund as failed (OenT0001), but ${refunded.evidence}: Oen refunded it after all`,
        },
      },
    });
  });

  it('Oen shows a state nobody can explain: to a person with the evidence', () => {
    expect(decide(refund('failed'), unexplained, resubmit)).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'unexplained',
      evidence: unexplained.evidence,
      fields: { error: { code: 'OenStateUnexplained', message: `the ledger recorded this refund as failed (no code), but ${unexplained.evidence}` } },
    });
  });
});

describe('sending again', () => {
  const person: DecisionRecord = {
    action: 'resolve',
    by: { id: 'key-alice', name: 'alice' },
    verified: true,
    at: '2026-11-29T08:00:00Z',
    reason: 'sent again',
  };

  it('never a refund a person resolved, nor one after a mismatch; otherwise it may be', () => {
    expect(notToSendAgain({ decisions: [person] })).toBe(
      'alice resolved it (sent again): reconciliation never sends a resolved refund again; a person decides',
    );
    expect(notToSendAgain({ error: { code: 'ReconcileMismatch', message: 'm' } })).toBe(
      'the ledger had recorded it as succeeded (a mismatch): a person decides before anything is sent',
    );
    expect(notToSendAgain({ error: { code: 'FailedButRefunded', message: 'm' } })).toMatch(/^the ledger had recorded it as failed \(a mismatch\)/);
    expect(notToSendAgain({ error: { code: 'OenHttp500', message: 'm' }, decisions: [{ ...person, action: 'approve' }] })).toBeUndefined();
  });

  it('a refund that cannot be sent again is left for a person, as with resubmission off', () => {
    expect(leftForPerson({ status: 'requires_attention' }, 'E', 'no request')).toEqual({ kind: 'note', outcome: 'left_for_person', evidence: 'E; no request' });
    expect(leftForPerson({ status: 'submitting' }, 'E', 'no request')).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'left_for_person',
      evidence: 'E',
      fields: { error: { code: 'OenNotRefunded', message: 'E; no request' } },
    });
  });

  it('its end, for the report: resubmitted only on a success; otherwise what the provider said', () => {
    expect(sentAgain('E', { status: 'succeeded', fields: { providerReference: 'P1', error: null } })).toEqual({
      outcome: 'resubmitted',
      evidence: 'E; sent again: refunded',
    });
    expect(sentAgain('E', { status: 'succeeded', fields: {}, note: 'Oen already showed this refund; none was sent' })).toEqual({
      outcome: 'resubmitted',
      evidence: 'E; sent again: Oen already showed this refund; none was sent',
    });
    expect(sentAgain('E', { status: 'failed', fields: { error: { code: 'OenT0001', message: 'refused' } } })).toEqual({
      outcome: 'resubmit_unresolved',
      evidence: 'E; sent again: OenT0001 — refused',
    });
    expect(sentAgain('E', { status: 'requires_attention', fields: { error: { code: 'OenHttp500', message: 'still failing' } } }).outcome).toBe(
      'resubmit_unresolved',
    );
  });
});

describe('runEndedAction: a refund whose run ended without settling it', () => {
  const row = (status: RefundStatus, providerReference?: string) => ({
    status,
    workflowId: 'mwd-refund-RF-1',
    ...(providerReference && { providerReference }),
  });
  const terminated = { open: false, ended: 'terminated' } as const;

  it('its run (or the run that claimed it) still open: left to it, counted', () => {
    expect(runEndedAction(row('received'), { open: true }, undefined)).toEqual({ kind: 'count', outcome: 'still_running' });
  });

  it.each(['received', 'awaiting_approval'] as const)('%s: nothing was sent, so cancelled', (status) => {
    const evidence =
      'its run mwd-refund-RF-1 was terminated through Temporal (person unknown) without settling it, before the refund was sent: nothing was sent';
    expect(runEndedAction(row(status), terminated, undefined)).toEqual({
      kind: 'move',
      to: 'cancelled',
      outcome: 'run_ended',
      evidence,
      fields: { error: { code: 'RunEnded', message: evidence } },
    });
  });

  it('a run that ended otherwise is named so', () => {
    const action = runEndedAction(row('received'), { open: false, ended: 'completed' }, undefined);
    expect(action).toMatchObject({ evidence: 'its run mwd-refund-RF-1 ended without settling it, before the refund was sent: nothing was sent' });
  });

  it('MWD submitting with its success recorded: succeeded', () => {
    expect(runEndedAction(row('submitting', 'S1'), terminated, undefined)).toEqual({
      kind: 'move',
      to: 'succeeded',
      outcome: 'run_ended',
      evidence: "its run mwd-refund-RF-1 was terminated through Temporal (person unknown) without settling it; MWD's success (S1) was recorded before it ended",
      fields: { error: null },
    });
  });

  const gone = 'its run mwd-refund-RF-1 was terminated through Temporal (person unknown) without settling it';

  it('MWD submitting with a send never answered: a person, MwdOutcomeUnknown (MWD cannot be asked)', () => {
    const evidence = `${gone}: attempt 2 of run r1 sent the refund to MWD and never recorded an answer. MWD cannot be asked whether the refund happened: check with MWD`;
    expect(runEndedAction(row('submitting'), terminated, 'attempt 2 of run r1')).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'run_ended',
      evidence,
      fields: { error: { code: 'MwdOutcomeUnknown', message: evidence } },
    });
  });

  it('MWD submitting with every send answered, or none made: a person all the same (no documented refusal ended it)', () => {
    const evidence = `${gone}, while it was being submitted: no send was left unanswered (each was answered with a failure, or none was made), so MWD should show no refund; check with MWD`;
    expect(runEndedAction(row('submitting'), terminated, undefined)).toEqual({
      kind: 'move',
      to: 'requires_attention',
      outcome: 'run_ended',
      evidence,
      fields: { error: { code: 'RunEnded', message: evidence } },
    });
  });
});
