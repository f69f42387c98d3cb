import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { roles } from '../domain/actor.js';
import { fieldProblems } from '../domain/schemas/events.js';
import { KEY_NAME, KeyNameTaken, PERSON, type ApiKeys } from '../ledger/api-keys.js';
import type { AuditTrail } from '../ledger/audit.js';
import { callerOf } from './access.js';
import { problem, type Answer } from './answers.js';
import { auditTrailFor, parseJsonBody } from './decisions.js';

/**
 * Named API keys (admin) and the audit trail (viewer) over HTTP (docs/api.md): what
 * `npx refundflow operator …` and `npx refundflow audit` call. With four eyes on (DUAL_APPROVAL_THRESHOLD),
 * a grant is made by two people: one proposes it, another confirms it and is shown the key — so no
 * one alone makes a key, for themself or in a colleague's name (docs/operations.md, "Who may do what").
 */
export const newKeyBody = z
  .object({
    name: z.string().regex(KEY_NAME, "1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"),
    role: z.enum(roles),
    person: z.string().regex(PERSON, 'the person the key is for: their OIDC subject where OIDC is used, else a name (1–255 printable characters, no spaces)').optional(),
  })
  .strict();

export const auditQuery = z
  .object({
    refundId: z.string().min(1, 'must not be empty').optional(),
    actor: z.string().min(1, 'must not be empty').optional(),
    since: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time, e.g. 2026-11-29T08:00:00Z' }).optional(),
    limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(500, 'must be at most 500').default(100),
    cursor: z.string().regex(/^\d+$/, 'is not a cursor this API gave').optional(),
  })
  .strict();

export function registerOperatorRoutes(
  app: FastifyInstance,
  deps: { apiKeys: ApiKeys; audit: AuditTrail; send: (reply: FastifyReply, answer: Answer) => FastifyReply; grantsByTwo: boolean },
): void {
  const maker = (request: FastifyRequest) => {
    const { id, person } = callerOf(request);
    return { id, person };
  };
  app.get('/v1/operators', { config: { access: 'admin' } }, async () => ({ keys: await deps.apiKeys.list() }));

  app.post('/v1/operators', { config: { access: 'admin', audit: 'operator.add' } }, async (request, reply) => {
    const trail = auditTrailFor(deps.audit, request, 'operator.add');
    const input = parseJsonBody(request.body);
    if (!input.ok) return deps.send(reply, await trail.refused(problem(400, input.error)));
    const body = newKeyBody.safeParse(input.value ?? {});
    if (!body.success) return deps.send(reply, await trail.refused(problem(422, 'invalid key request', fieldProblems(body.error))));
    const { name, role, person = name } = body.data;
    await trail.attempt({ detail: { name, role, person } });
    try {
      if (deps.grantsByTwo) {
        const info = await deps.apiKeys.propose(name, role, person, maker(request));
        await trail.done({ detail: { name, role, person, keyId: info.keyId, pending: true } });
        return reply.code(202).send(info);
      }
      const { key, info } = await deps.apiKeys.add(name, role, maker(request), { person });
      await trail.done({ detail: { name, role, person, keyId: info.keyId } });
      return reply.code(201).send({ ...info, key });
    } catch (err) {
      if (err instanceof KeyNameTaken) return deps.send(reply, await trail.refused(problem(409, err.message), undefined, { name }));
      throw err;
    }
  });

  app.post<{ Params: { name: string } }>('/v1/operators/:name/confirm', { config: { access: 'admin', audit: 'operator.confirm' } }, async (request, reply) => {
    const { name } = request.params;
    const trail = auditTrailFor(deps.audit, request, 'operator.confirm');
    await trail.attempt({ detail: { name } });
    const confirmed = await deps.apiKeys.confirm(name, maker(request));
    if ('refused' in confirmed) {
      const answer =
        confirmed.refused === 'same_person'
          ? problem(409, `${callerOf(request).name} granted ${name}'s key: a second person confirms a grant`)
          : problem(404, `no grant named ${name} waits for confirmation`);
      return deps.send(reply, await trail.refused(answer, undefined, { name }));
    }
    const { key, info } = confirmed;
    await trail.done({ detail: { name, role: info.role, person: info.person, keyId: info.keyId, grantedBy: info.createdBy } });
    return { ...info, key };
  });

  app.post<{ Params: { name: string } }>('/v1/operators/:name/revoke', { config: { access: 'admin', audit: 'operator.revoke' } }, async (request, reply) => {
    const { name } = request.params;
    const trail = auditTrailFor(deps.audit, request, 'operator.revoke');
    await trail.attempt({ detail: { name } });
    const revoked = await deps.apiKeys.revoke(name, callerOf(request).id);
    if (!revoked) return deps.send(reply, await trail.refused(problem(404, `no live key named ${name}`), undefined, { name }));
    await trail.done({ detail: { name, role: revoked.role, person: revoked.person, keyId: revoked.keyId } });
    return revoked;
  });

  app.get('/v1/audit', { config: { access: 'viewer' } }, async (request, reply) => {
    const query = auditQuery.safeParse(request.query);
    if (!query.success) return deps.send(reply, problem(422, 'invalid query', fieldProblems(query.error)));
    const { cursor, since, ...filter } = query.data;
    return deps.audit.list({ ...filter, ...(since !== undefined && { since: new Date(since) }), ...(cursor !== undefined && { after: cursor }) });
  });
}
