import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { faultTable, renderFaultTable, TABLE_END, TABLE_START } from './table.js';

/** The fault model's table (table.ts) against its document and the issues; fault-table.test.ts runs every row through the engine. */
describe('the fault model in docs/providers.md', () => {
  it('is the table the code runs (npm run docs:fault-table renders it)', () => {
    const doc = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8');
    const start = doc.indexOf(TABLE_START);
    const end = doc.indexOf(TABLE_END);
    expect(start, 'docs/providers.md has the fault table markers').toBeGreaterThanOrEqual(0);
    expect(doc.slice(start + TABLE_START.length, end).trim()).toBe(renderFaultTable().trim());
  });

  it('covers each answer the issue names, for both providers', () => {
    const answers = (provider: 'oen' | 'mwd') =>
      faultTable
        .filter((r) => r.provider === provider)
        .map((r) => r.answer)
        .join('\n');
    for (const provider of ['oen', 'mwd'] as const) {
      for (const needed of [
        /^200, an HTML page/m,
        /^200, an empty body/m,
        /JSON cut short/,
        /^302/m,
        /^400/m,
        /^401/m,
        /^403/m,
        /^404/m,
        /^408/m,
        /^409/m,
        /^429 with Retry-After/m,
        /^500, plain text/m,
        /^502, an HTML/m,
        /^503, an HTML/m,
        /^504, an HTML/m,
        /connection refused/,
        /connection reset/,
        /no answer until the timeout/,
      ]) {
        expect(answers(provider)).toMatch(needed);
      }
    }
    expect(faultTable.filter((r) => r.provider === 'oen' && r.call === 'check').length).toBeGreaterThan(10);
  });

  it('has the answers that prove nothing (issue 25), before and after the provider acted wherever both can happen', () => {
    const needed: Array<['oen' | 'mwd', RegExp, boolean[]]> = [
      ['mwd', /^200, MWD's refusal with its request to the bank and no bank answer/, [false, true]],
      ['mwd', /^500, MWD's refusal with its request to the bank and no bank answer/, [false, true]],
      ['mwd', /success echoing another amount/, [false, true]],
      ['mwd', /success echoing another OriMerchantTradeNo/, [false, true]],
      ['mwd', /success echoing TradeType/, [false, true]],
      ['mwd', /^500, plain text; MWD carries out the resend/, [true]],
      ['mwd', /^500, plain text; MWD refuses the resend/, [true]],
      ['oen', /the list shows another amount refunded/, [false, true]],
      ['oen', /the list shows a status Oen does not document/, [false, true]],
      ['oen', /the list does not show the transaction/, [false, true]],
      ['oen', /the list shows an ATM payment/, [false, true]],
      ['oen', /T0005 to the resend/, [false, true]],
      ['oen', /V0002/, [false, true]],
      ['oen', /S0000 showing the transaction still charged/, [false, true]],
      ['oen', /S0000 showing another amount/, [false, true]],
      ['oen', /S0000 showing another transaction/, [false, true]],
      ['oen', /^200, Oen's (A0001|V0001|T0001)/, [false]],
      ['oen', /^401, Oen's (V0001|T0005)/, [false]],
    ];
    for (const [provider, answer, acted] of needed) {
      const found = faultTable.filter((r) => r.provider === provider && answer.test(r.answer)).map((r) => r.acted);
      expect([...new Set(found)].sort(), `${provider} ${answer}`).toEqual([...acted].sort());
    }
  });
});
