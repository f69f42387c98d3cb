import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { Argument, Option, type Command } from 'commander';
import { postgresUrl } from '../config.js';
import { roles, type Role } from '../domain/actor.js';
import { describeDecider } from '../domain/operator.js';
import type { ApiKeyInfo, ApiKeys } from '../ledger/api-keys.js';
import { AuditedAction, AuditTrail } from '../ledger/audit.js';
import { newSigningKey, verifyKeyOf } from '../domain/decision-proof.js';
import { auditQuery, newKeyBody } from '../domain/schemas/operators.js';
import { outcomeBody, retryBody } from '../domain/schemas/resolution.js';
import { refundIdSchema } from '../domain/schemas/refund-request.js';
import { callApi, type CliContext } from './api.js';
import { DurationError, parseDuration } from './durations.js';
import { usageError } from './exit-codes.js';
import { badValue, checkedBy, checkRequest, oneOf } from './flags.js';
import { print } from './output.js';

/**
 * Who may do what, and what they did (docs/operations.md): `operator add | confirm | list | revoke`
 * (named API keys; through the API as an admin — `confirm` is the second person of a grant when four
 * eyes are on — or, to make the first key of a deployment, straight into the PostgreSQL ledger with
 * --database-url / DATABASE_URL), `audit`, `resolve`, and `signing-key`.
 */
/** A key as the API and the ledger describe it. */
type KeyInfo = ApiKeyInfo;

/** The ledger itself, for a deployment's first key: PostgreSQL only (npm start's PGlite is its own process's). */
async function withLedger<T>(databaseUrl: string, work: (deps: { keys: ApiKeys; audit: AuditTrail }) => Promise<T>): Promise<T> {
  if (!/^postgres(ql)?:\/\//.test(databaseUrl))
    throw usageError("--database-url must be a PostgreSQL URL (postgres://…); with npm start's embedded ledger, go through its API instead");
  const [{ openLedgerDatabase }, { ApiKeys }] = await Promise.all([import('../ledger/index.js'), import('../ledger/api-keys.js')]);
  const db = await openLedgerDatabase({ DATABASE_URL: databaseUrl, DATA_DIR: '.data' });
  try {
    return await work({ keys: new ApiKeys(db), audit: new AuditTrail(db) });
  } finally {
    await db.close();
  }
}

/**
 * A direct ledger write in the audit trail (AuditedAction), recorded as the machine's user; an
 * outcome lost after its attempt is said on stderr.
 */
function ledgerAction(audit: AuditTrail, name: string) {
  const actor = { id: `cli:${userInfo().username}`, name: `${userInfo().username} (refundflow CLI, straight to the ledger)` };
  const action = new AuditedAction(audit, { actor, action: name, requestId: randomUUID() }, (err, outcome) =>
    process.stderr.write(
      `${name} was carried out but its outcome (${outcome}) is not in the audit trail (its attempted row is): ${err instanceof Error ? err.message : String(err)}\n`,
    ),
  );
  return { actor, action };
}

function describeKey(k: KeyInfo): string {
  const state = k.revokedAt ? `revoked ${k.revokedAt} by ${k.revokedBy ?? '?'}` : k.pending ? 'waiting for a second admin: operator confirm' : 'live';
  const confirmed = k.confirmedBy !== undefined ? `, confirmed by ${k.confirmedBy}` : '';
  return `${k.name.padEnd(20)} ${k.role.padEnd(9)} ${k.person.padEnd(20)} rf_${k.keyId}_…  made ${k.createdAt} by ${k.createdBy}${confirmed}; ${state}`;
}

/** A key just made (shown this once), or a grant that waits for a second admin. */
function printKey(c: CliContext, made: KeyInfo & { key?: string }): void {
  print(c, made, () =>
    made.key === undefined
      ? `granted ${made.name} (${made.role}) to ${made.person}; a second admin confirms it (npx refundflow operator confirm ${made.name}) and is shown the key`
      : [
          `made the key of ${made.name} (${made.role}, ${made.person}); it is shown this once, keep it in a secret store:`,
          `  ${made.key}`,
          'give it to them as REFUNDFLOW_TOKEN or in a file for --token-file',
        ].join('\n'),
  );
}

export function operatorCommands(program: Command, ctx: () => CliContext): void {
  const operator = program
    .command('operator')
    .description('named API keys: who may call the API, with which role (viewer, operator, approver, admin), for which person');
  const databaseUrl = () =>
    new Option('--database-url <url>', "write the PostgreSQL ledger directly instead of going through the API (a deployment's first key)")
      .env('DATABASE_URL')
      .argParser(checkedBy('--database-url', postgresUrl));

  operator
    .command('add')
    .description('make a named API key; prints the key once (only its hash is kept)')
    .argument('<name>', 'a person or service: letters, digits, . _ @ -', keyName)
    .addOption(new Option('--role <role>', 'what the key may do').choices(roles).argParser(oneOf('--role', roles)).makeOptionMandatory())
    .option(
      '--person <person>',
      'whose key it is (default: the name); where OIDC is used, their OIDC subject, so a key and a sign-in of one person count as one',
      checkedBy('--person', newKeyBody.shape.person),
    )
    .addOption(databaseUrl())
    .action(async (name: string, o: { role: Role; person?: string; databaseUrl?: string }) => {
      const c = ctx();
      let made: KeyInfo & { key: string };
      if (o.databaseUrl) {
        made = await withLedger(o.databaseUrl, async ({ keys, audit }) => {
          const { actor, action } = ledgerAction(audit, 'operator.add');
          await action.attempt({ detail: { name, role: o.role, person: o.person ?? name, via: 'ledger' } });
          const { key, info } = await keys.add(name, o.role, actor.id, { person: o.person }).catch(async (err: unknown) => {
            const reason = err instanceof Error ? err.message : String(err);
            await action.refused({ reason, detail: { name, via: 'ledger' } });
            throw usageError(reason);
          });
          await action.done({ detail: { name, role: o.role, person: info.person, keyId: info.keyId, via: 'ledger' } });
          return { ...info, key };
        });
      } else {
        const body = { name, role: o.role, ...(o.person !== undefined && { person: o.person }) };
        made = (await callApi(c, 'POST', '/v1/operators', { use: 'required', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }))
          .body as unknown as KeyInfo & { key: string };
      }
      printKey(c, made);
    });

  operator
    .command('confirm')
    .description('confirm a grant another admin proposed (with DUAL_APPROVAL_THRESHOLD set); prints the key once, for you to hand to its person')
    .argument('<name>', 'the key', keyName)
    .action(async (name: string) => {
      const c = ctx();
      printKey(
        c,
        (await callApi(c, 'POST', `/v1/operators/${encodeURIComponent(name)}/confirm`, { use: 'required' })).body as unknown as KeyInfo & { key: string },
      );
    });

  operator
    .command('list')
    .description('the named API keys (never the keys themselves), revoked ones included')
    .addOption(databaseUrl())
    .action(async (o: { databaseUrl?: string }) => {
      const c = ctx();
      const keys = o.databaseUrl
        ? await withLedger(o.databaseUrl, ({ keys: k }) => k.list())
        : ((await callApi(c, 'GET', '/v1/operators', { use: 'required' })).body.keys as KeyInfo[]);
      print(c, { keys }, () => (keys.length === 0 ? 'no keys' : keys.map(describeKey).join('\n')));
    });

  operator
    .command('revoke')
    .description('revoke a named API key: the API refuses it from now on')
    .argument('<name>', 'the key', keyName)
    .addOption(databaseUrl())
    .action(async (name: string, o: { databaseUrl?: string }) => {
      const c = ctx();
      let revoked: KeyInfo;
      if (o.databaseUrl) {
        revoked = await withLedger(o.databaseUrl, async ({ keys, audit }) => {
          const { actor, action } = ledgerAction(audit, 'operator.revoke');
          await action.attempt({ detail: { name, via: 'ledger' } });
          const done = await keys.revoke(name, actor.id);
          if (!done) {
            await action.refused({ reason: `no live key named ${name}`, detail: { name, via: 'ledger' } });
            throw usageError(`no live key named ${name}`);
          }
          await action.done({ detail: { name, role: done.role, keyId: done.keyId, via: 'ledger' } });
          return done;
        });
      } else {
        revoked = (await callApi(c, 'POST', `/v1/operators/${encodeURIComponent(name)}/revoke`, { use: 'required' })).body as unknown as KeyInfo;
      }
      print(c, revoked, () => `revoked the key of ${revoked.name} (${revoked.role}); the API refuses it from now on`);
    });

  program
    .command('audit')
    .description('the operator audit trail, oldest first: every action, attempted, then done, pending or refused')
    .option('--refund <refundId>', "one refund's", checkedBy('--refund', auditQuery.shape.refundId))
    .option('--actor <id>', "one person's or service's: an id (key:ann, oidc:…, temporal) or a key's name (ann)", checkedBy('--actor', auditQuery.shape.actor))
    .option('--since <durationOrTime>', 'from this long ago (90m, 2d) or this time (2026-11-29T08:00:00Z)', sinceTime)
    .option('--all', 'every page, not only the first', false)
    .action(async (o: { refund?: string; actor?: string; since?: string; all: boolean }) => {
      const c = ctx();
      const query = new URLSearchParams({
        ...(o.refund !== undefined && { refundId: o.refund }),
        ...(o.actor !== undefined && { actor: o.actor }),
        ...(o.since !== undefined && { since: o.since }),
      });
      const entries: Array<Record<string, unknown>> = [];
      let cursor: string | undefined;
      do {
        const page = new URLSearchParams(query);
        if (cursor) page.set('cursor', cursor);
        const { body } = await callApi(c, 'GET', `/v1/audit?${page.toString()}`, { use: 'required' });
        entries.push(...(body.entries as Array<Record<string, unknown>>));
        cursor = typeof body.next === 'string' ? body.next : undefined;
      } while (o.all && cursor);
      print(c, { entries, ...(cursor && { next: cursor }) }, () =>
        [...entries.map(describeEntry), ...(cursor ? [`… more: --all`] : []), ...(entries.length === 0 ? ['no entries'] : [])].join('\n'),
      );
    });

  program
    .command('resolve')
    .description(
      'settle a refund in requires_attention: "succeeded" or "failed" with --evidence (Oen: the engine asks Oen first; MWD: an approver\'s word), or "retry" (Oen only: sent again only if Oen shows it still charged)',
    )
    .argument('<refundId>', 'the refund', checkedBy('<refundId>', refundIdSchema))
    .addArgument(new Argument('<how>', 'succeeded, failed or retry').choices(resolutions).argParser(oneOf('<how>', resolutions)))
    .option('--reference <providerReference>', "succeeded: the provider's reference of the refund (Oen: the transaction HID)")
    .option('--evidence <text>', 'succeeded, failed: what shows it (a provider screen, a statement line, a ticket)')
    .option('--reason <text>', 'retry: why, for the record')
    .action(async (refundId: string, how: (typeof resolutions)[number], o: { reference?: string; evidence?: string; reason?: string }) => {
      const body = resolutionBody(how, o);
      const c = ctx();
      const { status, body: answer } = await callApi(c, 'POST', `/v1/refunds/${encodeURIComponent(refundId)}/resolve`, {
        use: 'required',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      print(c, answer, () =>
        answer.resolution === 'awaiting_second_person'
          ? `resolving ${refundId} takes two people: a second one asks for the same resolution (the same command) to carry it out: ${String(answer.uiUrl)}`
          : status === 202
            ? `resolution of ${refundId} still running (waiting for the provider): ${String(answer.uiUrl)}; follow it with \`refundflow status ${refundId} --wait\``
            : [
                `resolved: refund ${refundId} is now ${String(answer.status)}`,
                ...(typeof answer.providerEvidence === 'string' ? [`  provider: ${answer.providerEvidence}`] : []),
              ].join('\n'),
      );
    });

  program
    .command('signing-key')
    .description('a new Ed25519 pair: OPERATOR_SIGNING_KEY for the API, OPERATOR_VERIFY_KEYS for the workers')
    .action(() => {
      const signingKey = newSigningKey();
      const verifyKey = verifyKeyOf(signingKey);
      print(ctx(), { OPERATOR_SIGNING_KEY: signingKey, OPERATOR_VERIFY_KEYS: verifyKey }, () =>
        [
          `OPERATOR_SIGNING_KEY=${signingKey}`,
          `OPERATOR_VERIFY_KEYS=${verifyKey}`,
          "# the first is the API's secret; to rotate, put the new public key before the old in OPERATOR_VERIFY_KEYS first",
        ].join('\n'),
      );
    });
}

const resolutions = ['succeeded', 'failed', 'retry'] as const;

/**
 * The body `resolve` sends, checked against the API's schemas (outcomeBody, retryBody): a flag the
 * resolution does not take, or one it needs and lacks, is a usage error naming it.
 */
function resolutionBody(how: (typeof resolutions)[number], o: { reference?: string; evidence?: string; reason?: string }): object {
  const takes = { succeeded: ['reference', 'evidence'], failed: ['evidence'], retry: ['reason'] }[how];
  for (const [key, flag] of [
    ['reference', '--reference'],
    ['evidence', '--evidence'],
    ['reason', '--reason'],
  ] as const) {
    if (o[key] !== undefined && !takes.includes(key))
      throw usageError(`${flag} does not go with resolve … ${how} (it takes ${takes.map((k) => `--${k}`).join(', ')})`);
  }
  if (how === 'retry') return checkRequest(retryBody, { action: 'retry', ...(o.reason !== undefined && { reason: o.reason }) }, { reason: '--reason' });
  return checkRequest(
    outcomeBody,
    { outcome: how, ...(how === 'succeeded' && { providerReference: o.reference }), evidence: o.evidence },
    { providerReference: '--reference', evidence: '--evidence' },
  );
}

const keyName = checkedBy('<name>', newKeyBody.shape.name);

/** --since: a time as the API takes it (auditQuery), or a duration back from now. */
function sinceTime(text: string): string {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) return checkedBy('--since', auditQuery.shape.since.unwrap())(text);
  try {
    return new Date(Date.now() - parseDuration(text)).toISOString();
  } catch (err) {
    if (err instanceof DurationError) throw badValue('--since', `${err.message}, or an ISO 8601 time (2026-11-29T08:00:00Z)`, text);
    throw err;
  }
}

interface AuditLine {
  at: string;
  actor: { id: string; name: string; role?: Role };
  action: string;
  refundId?: string;
  outcome: string;
  statusBefore?: string;
  statusAfter?: string;
  reason?: string;
}

function describeEntry(entry: Record<string, unknown>): string {
  const e = entry as unknown as AuditLine;
  // An attempt (and a pending resolution) has no status after: it says what it was tried on.
  const moved = e.statusBefore === undefined ? '' : e.statusAfter === undefined ? ` while ${e.statusBefore}` : ` ${e.statusBefore} → ${e.statusAfter}`;
  const why = e.reason !== undefined ? `: ${e.reason}` : '';
  return `${e.at}  ${e.outcome.padEnd(9)} ${e.action.padEnd(15)} ${e.refundId ?? '-'}  by ${describeDecider(e.actor)}${moved}${why}`;
}
