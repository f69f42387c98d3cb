import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fieldProblems } from '../domain/schemas/events.js';
import { auditQuery, newKeyBody } from '../domain/schemas/operators.js';
import { KeyNameTaken, type ApiKeys } from '../ledger/api-keys.js';
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
// The request shapes live with the other public shapes (src/domain/schemas/); /openapi.json takes them from here.
export { auditQuery, newKeyBody };

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
    if (confirmed.kind !== 'confirmed') {
      const answer =
        confirmed.kind === 'same_person'
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
