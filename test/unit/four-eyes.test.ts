import { describe, expect, it } from 'vitest';
import { peopleBehind, secondPersonProblem, type CountedDecision } from '../../src/domain/four-eyes.js';

const key = (name: string, person?: string, heldBy?: string): CountedDecision => ({
  by: { id: `key:${name}`, name, role: 'approver', ...(person !== undefined && { person }), ...(heldBy !== undefined && { heldBy }) },
  verified: true,
});
const oidc = (sub: string): CountedDecision => ({ by: { id: `oidc:${sub}`, name: `Person ${sub}`, role: 'approver', person: sub }, verified: true });
const token: CountedDecision = { by: { id: 'operator-token', name: 'OPERATOR_TOKEN (deprecated)', role: 'approver' }, verified: true };
const unsigned: CountedDecision = { by: { id: 'temporal-update', name: 'someone with access to Temporal (unverified)' }, verified: false };

describe('four eyes count people', () => {
  it.each([
    ['a key: its person', key('ann-2', 'ann'), ['ann']],
    ['a key shown to another person when made: both', key('ann-2', 'ann', 'root'), ['ann', 'root']],
    ['an OIDC identity: its subject', oidc('00u1'), ['00u1']],
    ["a decision recorded before persons: a key's name", { by: { id: 'key:bob', name: 'bob' }, verified: true }, ['bob']],
    ['OPERATOR_TOKEN: no one', token, undefined],
    ['an unsigned update: no one', unsigned, undefined],
  ] as const)('%s', (_what, decision, people) => {
    expect(peopleBehind(decision)).toEqual(people);
  });

  it.each([
    ['two people', [key('ann', 'ann')], key('bob', 'bob'), undefined],
    ['the same key', [key('ann', 'ann')], key('ann', 'ann'), 'ann approved already'],
    ['two keys of one person', [key('ann', 'ann')], key('ann-2', 'ann'), 'ann-2 counts as ann, who approved already (as ann)'],
    ['one person under two spellings', [key('ann', 'ann')], key('ann-3', 'Ann', 'carl'), 'ann-3 counts as ann, who approved already (as ann)'],
    ['an OIDC identity and a key of its subject', [oidc('00u1')], key('ann', '00u1'), 'ann counts as 00u1, who approved already (as Person 00u1)'],
    ['a key shown to the first approver', [key('root', 'root')], key('bob', 'bob', 'root'), 'bob counts as root, who approved already (as root)'],
    ['OPERATOR_TOKEN', [key('ann', 'ann')], token, /^OPERATOR_TOKEN \(deprecated\) cannot be one of two people: the shared OPERATOR_TOKEN names no person/],
    ['an unsigned update', [], unsigned, /cannot be one of two people: an update without the API's signed proof names no person/],
  ] as const)('%s', (_what, earlier, next, problem) => {
    const found = secondPersonProblem(earlier, next);
    if (problem === undefined || typeof problem === 'string') expect(found).toBe(problem);
    else expect(found).toMatch(problem);
  });
});
