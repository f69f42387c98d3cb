import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { roles } from '../domain/actor.js';
import { fieldProblems } from '../domain/schemas/events.js';
import { KEY_NAME, KeyNameTaken, type ApiKeys } from '../ledger/api-keys.js';
import type { AuditTrail } from '../ledger/audit.js';
import { callerOf } from './access.js';
import { problem, type Answer } from './answers.js';
import { auditTrailFor, parseJsonBody } from './decisions.js';

/**
 * Named API keys (approver) and the audit trail (viewer) over HTTP (docs/api.md): what
 * `npx refundflow operator …` and `npx refundflow audit` call.
 */
export const newKeyBody = z
  .object({
    name: z.string().regex(KEY_NAME, "1–64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"),
    role: z.enum(roles),
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
  deps: { apiKeys: ApiKeys; audit: AuditTrail; send: (reply: FastifyReply, answer: Answer) => FastifyReply },
): void {
  app.get('/v1/operators', { config: { access: 'approver' } }, async () => ({ keys: await deps.apiKeys.list() }));

  app.post('/v1/operators', { config: { access: 'approver', audit: 'operator.add' } }, async (request, reply) => {
    const trail = auditTrailFor(deps.audit, request, 'operator.add');
    const input = parseJsonBody(request.body);
    if (!input.ok) return deps.send(reply, await trail.refused(problem(400, input.error)));
    const body = newKeyBody.safeParse(input.value ?? {});
    if (!body.success) return deps.send(reply, await trail.refused(problem(422, 'invalid key request', fieldProblems(body.error))));
    try {
      const { key, info } = await deps.apiKeys.add(body.data.name, body.data.role, callerOf(request).id);
      await trail.done({ detail: { name: info.name, role: info.role, keyId: info.keyId } });
      return reply.code(201).send({ ...info, key });
    } catch (err) {
      if (err instanceof KeyNameTaken) return deps.send(reply, await trail.refused(problem(409, err.message), undefined, { name: body.data.name }));
      throw err;
    }
  });

  app.post<{ Params: { name: string } }>('/v1/operators/:name/revoke', { config: { access: 'approver', audit: 'operator.revoke' } }, async (request, reply) => {
    const { name } = request.params;
    const trail = auditTrailFor(deps.audit, request, 'operator.revoke');
    const revoked = await deps.apiKeys.revoke(name, callerOf(request).id);
    if (!revoked) return deps.send(reply, await trail.refused(problem(404, `no live key named ${name}`), undefined, { name }));
    await trail.done({ detail: { name, role: revoked.role, keyId: revoked.keyId } });
    return revoked;
  });

  app.get('/v1/audit', { config: { access: 'viewer' } }, async (request, reply) => {
    const query = auditQuery.safeParse(request.query);
    if (!query.success) return deps.send(reply, problem(422, 'invalid query', fieldProblems(query.error)));
    const { cursor, since, ...filter } = query.data;
    return deps.audit.list({ ...filter, ...(since !== undefined && { since: new Date(since) }), ...(cursor !== undefined && { after: cursor }) });
  });
}
