import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { exitCodes, type ExitReason } from '../../src/cli/exit-codes.js';
import { buildCli, cliErrorOf } from '../../src/cli/program.js';

/**
 * Every flag and argument of every command that takes a value is checked before anything is sent,
 * with the API's own rule, and a bad one is a usage error naming it (exit 2). The commands run in
 * this process against an API address nothing listens on: a check that let a bad value through would
 * end in "cannot reach the API" (exit 3) instead. test/cli.test.ts runs a few of them as a user does,
 * in a process of their own against the real API.
 */

const nowhere = ['--api', 'http://127.0.0.1:9'];
const secret = `whsec_${Buffer.from('a secret of twenty-four!').toString('base64')}`;
const refund = (...args: string[]) => [...nowhere, 'refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '10', ...args];
const mwdRefund = (...args: string[]) => [...nowhere, 'refund', '--provider', 'mwd', '--order', 'O-1', '--card-token', 'tok', '--amount', '10', ...args];
const long = 'x'.repeat(501);

/** For each flag or argument (`command path` + flag): command lines with a bad value, and what the error says. */
const cases: Record<string, Array<{ args: string[]; says: string | RegExp; reason?: ExitReason }>> = {
  '--api': [
    { args: ['--api', 'localhost:8080', 'status', 'RF-1'], says: '--api must be an http:// or https:// URL, e.g. http://localhost:8080 (got localhost:8080)' },
    { args: ['--api', 'ftp://x', 'list'], says: /^--api must be an http:\/\/ or https:\/\/ URL/ },
  ],
  'refund --order': [
    { args: [...nowhere, 'refund', '--transaction', 'P1', '--amount', '10'], says: '--order is required' },
    {
      args: [...nowhere, 'refund', '--order', '..', '--transaction', 'P1', '--amount', '10'],
      says: '--order must not be "." or ".." (it would name another path at the provider) (got ..)',
    },
    { args: [...nowhere, 'refund', '--order', '', '--transaction', 'P1', '--amount', '10'], says: '--order must not be empty (got "")' },
  ],
  'refund --amount': [
    { args: [...nowhere, 'refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '12.5'], says: '--amount must be a whole number of NT$ (got 12.5)' },
    { args: [...nowhere, 'refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '0'], says: '--amount must be a positive number of NT$ (got 0)' },
    { args: [...nowhere, 'refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '1e3'], says: '--amount must be a number (got 1e3)' },
    {
      args: [...nowhere, 'refund', '--order', 'O-1', '--transaction', 'P1', '--amount', '100000001'],
      says: '--amount must be at most NT$100,000,000 (got 100000001)',
    },
    { args: [...nowhere, 'refund', '--order', 'O-1', '--transaction', 'P1'], says: '--amount is required' },
  ],
  'refund --provider': [{ args: refund('--provider', 'paypal'), says: '--provider must be one of oen, mwd (got paypal)' }],
  'refund --transaction': [
    { args: [...nowhere, 'refund', '--order', 'O-1', '--amount', '10'], says: '--transaction is required with --provider oen: the transaction HID (P2024…)' },
    { args: refund('--transaction', 'P-1'), says: '--transaction must be an Oen transaction HID, e.g. P20240412CIK7KPPH (got P-1)' },
    { args: mwdRefund('--transaction', 'P1'), says: '--transaction is for --provider oen; a refund with --provider mwd names its --card-token' },
  ],
  'refund --card-token': [
    {
      args: [...nowhere, 'refund', '--provider', 'mwd', '--order', 'O-1', '--amount', '10'],
      says: '--card-token is required with --provider mwd: the card token',
    },
    { args: mwdRefund('--card-token', ''), says: '--card-token must not be empty (got "")' },
    { args: refund('--card-token', 'tok'), says: '--card-token is for --provider mwd; a refund with --provider oen names its --transaction' },
  ],
  'refund --refund-id': [{ args: refund('--refund-id', 'RF 1'), says: /^--refund-id must be 1–64 characters of A–Z, .* \(got "RF 1"\)$/ }],
  'refund --reason': [{ args: refund('--reason', long), says: /^--reason must be at most 500 characters \(got x{37}…\)$/ }],
  'refund --event-id': [{ args: refund('--event-id', ''), says: '--event-id must not be empty (got "")' }],
  'refund --secret': [{ args: refund('--secret', 'hunter2'), says: '--secret must be a Standard Webhooks secret: "whsec_" followed by base64' }],
  'refund --timeout': [
    { args: refund('--wait', '--timeout', '5'), says: '--timeout must be a whole number and a unit, e.g. 90s, 15m, 1h, 2d or 1h30m (got 5)' },
    { args: refund('--timeout', '5s'), says: '--timeout applies only with --wait' },
  ],
  'status --timeout': [{ args: [...nowhere, 'status', 'RF-1', '--wait', '--timeout', '0s'], says: '--timeout must be longer than 0s (got 0s)' }],
  'status <refundId>': [
    { args: [...nowhere, 'status'], says: "missing required argument 'refundId'" },
    { args: [...nowhere, 'status', 'RF/1'], says: /^<refundId> must be 1–64 characters .* \(got RF\/1\)$/ },
  ],
  'list --order': [{ args: [...nowhere, 'list', '--order', ''], says: '--order must not be empty (got "")' }],
  'list --status': [{ args: [...nowhere, 'list', '--status', 'done'], says: /^--status must be one of received, awaiting_approval, .* \(got done\)$/ }],
  'list --older-than': [{ args: [...nowhere, 'list', '--older-than', '1 hour'], says: /^--older-than must be a whole number and a unit.* \(got "1 hour"\)$/ }],
  'list --limit': [
    { args: [...nowhere, 'list', '--limit', '0'], says: '--limit must be at least 1 (got 0)' },
    { args: [...nowhere, 'list', '--limit', '201'], says: '--limit must be at most 200 (got 201)' },
    { args: [...nowhere, 'list', '--limit', '2.5'], says: '--limit must be a whole number (got 2.5)' },
    { args: [...nowhere, 'list', '--limit', 'ten'], says: '--limit must be a number (got ten)' },
  ],
  'list --cursor': [{ args: [...nowhere, 'list', '--cursor', ''], says: '--cursor must not be empty (got "")' }],
  'outcomes --after': [
    { args: [...nowhere, 'outcomes', '--after', 'x'], says: "--after must be an event's cursor (digits), as an earlier answer gave it (got x)" },
    { args: [...nowhere, 'outcomes', '--after', '-1'], says: "--after must be an event's cursor (digits), as an earlier answer gave it (got -1)" },
  ],
  'outcomes redeliver <eventId>': [
    { args: [...nowhere, 'outcomes', 'redeliver'], says: "missing required argument 'eventId'" },
    { args: [...nowhere, 'outcomes', 'redeliver', 'RF 1.succeeded.1'], says: /^<eventId> must be an outcome event's id, .* \(got "RF 1\.succeeded\.1"\)$/ },
  ],
  'deploy promote <buildId>': [
    { args: [...nowhere, 'deploy', 'promote'], says: "missing required argument 'buildId'" },
    { args: [...nowhere, 'deploy', 'promote', '0.1.0 abc'], says: /^<buildId> must be a build id: .* \(got "0\.1\.0 abc"\)$/ },
  ],
  'deploy promote --reason': [{ args: [...nowhere, 'deploy', 'promote', 'B', '--reason', long], says: /^--reason must be at most 500 characters/ }],
  'deploy ramp <buildId>': [{ args: [...nowhere, 'deploy', 'ramp', ':B', '--percent', '5'], says: /^<buildId> must be a build id: .* \(got :B\)$/ }],
  'deploy ramp --percent': [
    { args: [...nowhere, 'deploy', 'ramp', 'B'], says: "required option '--percent <n>' not specified" },
    { args: [...nowhere, 'deploy', 'ramp', 'B', '--percent', '101'], says: '--percent must be 0 to 100 (got 101)' },
    { args: [...nowhere, 'deploy', 'ramp', 'B', '--percent', 'half'], says: '--percent must be a number from 0 to 100 (got half)' },
  ],
  'deploy ramp --reason': [{ args: [...nowhere, 'deploy', 'ramp', 'B', '--percent', '5', '--reason', long], says: /^--reason must be at most 500 characters/ }],
  'outcomes --limit': [
    { args: [...nowhere, 'outcomes', '--limit', '0'], says: '--limit must be at least 1 (got 0)' },
    { args: [...nowhere, 'outcomes', '--limit', '1001'], says: '--limit must be at most 1000 (got 1001)' },
  ],
  ...Object.fromEntries(
    ['approve', 'reject', 'cancel'].flatMap((action) => [
      [`${action} --reason`, [{ args: [...nowhere, action, 'RF-1', '--reason', long], says: /^--reason must be at most 500 characters/ }]],
      [`${action} <refundId>`, [{ args: [...nowhere, action, 'RF 1'], says: /^<refundId> must be 1–64 characters .* \(got "RF 1"\)$/ }]],
    ]),
  ),
  'operator add --role': [
    { args: [...nowhere, 'operator', 'add', 'ann', '--role', 'king'], says: '--role must be one of viewer, operator, approver, admin (got king)' },
    { args: [...nowhere, 'operator', 'add', 'ann'], says: "required option '--role <role>' not specified" },
  ],
  'operator add --person': [
    {
      args: [...nowhere, 'operator', 'add', 'ann', '--role', 'viewer', '--person', 'Ann Smith'],
      says: /^--person must name the person the key is for: .* \(got "Ann Smith"\)$/,
    },
  ],
  'operator add --database-url': [
    {
      args: ['operator', 'add', 'ann', '--role', 'admin', '--database-url', 'mysql://x/y'],
      says: /^--database-url must be a PostgreSQL URL, e.g\. postgres:\/\/.* \(got mysql:\/\/x\/y\)$/,
    },
  ],
  'operator add <name>': [
    { args: [...nowhere, 'operator', 'add', '_ann', '--role', 'viewer'], says: /^<name> must be 1–64 letters, digits, .* \(got _ann\)$/ },
  ],
  'operator confirm <name>': [{ args: [...nowhere, 'operator', 'confirm', 'a b'], says: /^<name> must be 1–64 letters/ }],
  'operator list --database-url': [{ args: ['operator', 'list', '--database-url', 'file.db'], says: /^--database-url must be a PostgreSQL URL/ }],
  'operator revoke --database-url': [{ args: ['operator', 'revoke', 'ann', '--database-url', 'file.db'], says: /^--database-url must be a PostgreSQL URL/ }],
  'operator revoke <name>': [{ args: [...nowhere, 'operator', 'revoke', 'ann smith'], says: /^<name> must be 1–64 letters/ }],
  'audit --refund': [{ args: [...nowhere, 'audit', '--refund', ''], says: '--refund must not be empty (got "")' }],
  'audit --actor': [{ args: [...nowhere, 'audit', '--actor', ''], says: '--actor must not be empty (got "")' }],
  'audit --since': [
    {
      args: [...nowhere, 'audit', '--since', 'yesterday'],
      says: /^--since must be a whole number and a unit, .*, or an ISO 8601 time \(2026-11-29T08:00:00Z\) \(got yesterday\)$/,
    },
    {
      args: [...nowhere, 'audit', '--since', '2026-11-29T08:00:00'],
      says: '--since must be an ISO 8601 time, e.g. 2026-11-29T08:00:00Z (got 2026-11-29T08:00:00)',
    },
  ],
  'resolve --reference': [
    { args: [...nowhere, 'resolve', 'RF-1', 'succeeded', '--evidence', 'portal'], says: '--reference is required' },
    { args: [...nowhere, 'resolve', 'RF-1', 'succeeded', '--reference', ' ', '--evidence', 'portal'], says: '--reference is required (got " ")' },
    {
      args: [...nowhere, 'resolve', 'RF-1', 'failed', '--reference', 'P1', '--evidence', 'portal'],
      says: '--reference does not go with resolve … failed (it takes --evidence)',
    },
  ],
  'resolve --evidence': [
    { args: [...nowhere, 'resolve', 'RF-1', 'failed'], says: '--evidence is required' },
    { args: [...nowhere, 'resolve', 'RF-1', 'failed', '--evidence', 'x'.repeat(2001)], says: /^--evidence must be at most 2000 characters/ },
    { args: [...nowhere, 'resolve', 'RF-1', 'retry', '--evidence', 'portal'], says: '--evidence does not go with resolve … retry (it takes --reason)' },
  ],
  'resolve --reason': [
    { args: [...nowhere, 'resolve', 'RF-1', 'retry', '--reason', long], says: /^--reason must be at most 500 characters/ },
    {
      args: [...nowhere, 'resolve', 'RF-1', 'failed', '--evidence', 'portal', '--reason', 'why'],
      says: '--reason does not go with resolve … failed (it takes --evidence)',
    },
  ],
  'resolve <refundId>': [{ args: [...nowhere, 'resolve', 'RF 1', 'retry'], says: /^<refundId> must be 1–64 characters/ }],
  'resolve <how>': [{ args: [...nowhere, 'resolve', 'RF-1', 'refunded'], says: '<how> must be one of succeeded, failed, retry (got refunded)' }],
  'new-key --id': [{ args: ['new-key', '--id', 'a/b'], says: '--id must be 1-64 of A-Z a-z 0-9 . _ - (got a/b)' }],
  'sandbox seed --provider': [{ args: ['sandbox', 'seed', '--provider', 'stripe'], says: '--provider must be one of oen, mwd (got stripe)' }],
  'sandbox seed --order': [{ args: ['sandbox', 'seed', '--order', '.'], says: /^--order must not be "\." or "\.\."/ }],
  'sandbox seed --amount': [{ args: ['sandbox', 'seed', '--amount', '-5'], says: '--amount must be a positive number of NT$ (got -5)' }],
  'sandbox seed --oen-url': [{ args: ['sandbox', 'seed', '--oen-url', '127.0.0.1:8301'], says: '--oen-url must be an http(s) URL (got 127.0.0.1:8301)' }],
  'sandbox seed --mwd-url': [{ args: ['sandbox', 'seed', '--provider', 'mwd', '--mwd-url', 'mwd'], says: '--mwd-url must be an http(s) URL (got mwd)' }],
  'schedule install --address': [
    {
      args: ['schedule', 'install', '--address', 'http://temporal:7233'],
      says: /^--address must be host:port, e\.g\. temporal\.internal:7233 \(got http:\/\/temporal:7233\)$/,
    },
  ],
  'schedule install --namespace': [{ args: ['schedule', 'install', '--namespace', ''], says: '--namespace must not be empty (got "")' }],
  'schedule install --task-queue': [{ args: ['schedule', 'install', '--task-queue', ''], says: '--task-queue must not be empty (got "")' }],
  'schedule install --every': [
    { args: ['schedule', 'install', '--every', '30'], says: '--every must be at least 60 (got 30)' },
    { args: ['schedule', 'install', '--every', '15m'], says: '--every must be whole seconds (got 15m)' },
  ],
  'bulk --secret': [
    { args: [...nowhere, 'bulk', 'refunds.csv', '--secret', 'whsec_!'], says: '--secret must be a Standard Webhooks secret: "whsec_" followed by base64' },
  ],
  'bulk --concurrency': [
    { args: [...nowhere, 'bulk', 'refunds.csv', '--concurrency', '65'], says: '--concurrency must be a whole number from 1 to 64 (got 65)' },
  ],
  'bulk --rate': [{ args: [...nowhere, 'bulk', 'refunds.csv', '--rate', '0'], says: '--rate must be a positive number of events per second (got 0)' }],
  'bulk <file>': [
    { args: [...nowhere, 'bulk', '/nonexistent/refunds.csv', '--secret', secret], says: /cannot read .*refunds\.csv: ENOENT/, reason: 'refused' },
  ],
  'ledger migrate --migration-url': [{ args: ['ledger', 'migrate', '--migration-url', 'postgres'], says: /^--migration-url must be a PostgreSQL URL/ }],
  'ledger migrate --database-url': [{ args: ['ledger', 'migrate', '--database-url', 'sqlite:x'], says: /^--database-url must be a PostgreSQL URL/ }],
};

/** Checked where the credential is resolved, once per process: test/cli-credentials.test.ts runs each case in a process of its own. */
const checkedInTheirOwnProcess = ['--token-file', '--token'];

/** Every flag and argument that takes a value, as `command path flag`. */
function valueTaking(command: Command, path: string[] = []): string[] {
  const at = path.join(' ');
  return [
    ...command.options.filter((o) => o.required || o.optional).map((o) => `${at} ${o.long ?? o.flags}`.trim()),
    ...command.registeredArguments.map((a) => `${at} <${a.name()}>`),
    ...command.commands.flatMap((c) => valueTaking(c, [...path, c.name()])),
  ];
}

async function run(args: string[]) {
  const program = buildCli();
  const thrown = await program.parseAsync(args, { from: 'user' }).then(
    () => undefined,
    (err: unknown) => err,
  );
  return cliErrorOf(thrown, program, args);
}

describe('every flag that takes a value is checked before anything is sent', () => {
  it('each one has its cases here', () => {
    const flags = valueTaking(buildCli()).filter((flag) => !checkedInTheirOwnProcess.includes(flag));
    expect(Object.keys(cases).sort()).toEqual(flags.sort());
  });

  it.each(Object.entries(cases))('%s', async (_flag, flagCases) => {
    for (const { args, says, reason = 'usage' } of flagCases) {
      const error = await run(args);
      expect(error?.message, args.join(' ')).toEqual(typeof says === 'string' ? says : expect.stringMatching(says));
      expect(error?.exitCode, args.join(' ')).toBe(exitCodes[reason].code);
    }
  });

  it('several problems at once are one line, each named by its flag', async () => {
    const error = await run([...nowhere, 'refund', '--provider', 'mwd', '--order', '..', '--amount', '0']);
    expect(error?.message).toBe(
      '--order must not be "." or ".." (it would name another path at the provider) (got ..); --amount must be a positive number of NT$ (got 0); --card-token is required with --provider mwd: the card token',
    );
  });

  it("commander's own usage errors read the same way: one line, a suggestion folded in", async () => {
    expect((await run(['list', '--stauts', 'x']))?.message).toBe("unknown option '--stauts' (did you mean --status?)");
    expect((await run(['lsit']))?.message).toBe("unknown command 'lsit' (did you mean list?)");
    expect((await run(['sandbox']))?.message).toBe('refundflow sandbox needs a command: seed');
    expect((await run([]))?.message).toMatch(/^refundflow needs a command: refund, status, list, /);
    expect((await run(['status', 'RF-1', 'RF-2']))?.exitCode).toBe(exitCodes.usage.code);
  });
});
