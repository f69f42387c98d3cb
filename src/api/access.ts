import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Role } from '../domain/actor.js';
import type { AuditTrail } from '../ledger/audit.js';
import { problem } from './answers.js';
import { roleProblem, type Authenticator, type Caller } from './auth.js';
import type { RefusalLimit } from './refusal-limit.js';

/** How each call refused for want of a valid credential was answered: 401, or 429 once its source passed its limit. */
export type UnauthenticatedAnswer = '401' | '429';

/**
 * Who may call what (docs/api.md, "Authentication and roles"): every route names its access in its
 * `config` — `public` (health, readiness), `signed` (POST /v1/events: its webhook signature), or the
 * role it needs. A hook authenticates the caller before the body is read: 401 for a missing or
 * unproven credential, 403 for a known caller without the role. Refusals of operator actions (routes
 * with an `audit` action) are written to the audit trail too — those for want of a credential only
 * while their source is within its limit (./refusal-limit.ts); past it, 429 and nothing written.
 */
export type Access = 'public' | 'signed' | Role;

export interface RouteAccess {
  access: Access;
  /** The audit trail's name for what the route does, for an action route. */
  audit?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller, on every route that needs one. */
    caller?: Caller;
  }
  interface FastifyContextConfig {
    access?: Access;
    audit?: string;
  }
}

/** The caller of a route that needs one (the hook has run). */
export function callerOf(request: FastifyRequest): Caller & { role: Role } {
  const caller = request.caller;
  if (!caller?.role) throw new Error(`no authenticated caller on ${request.method} ${request.url}`);
  return caller as Caller & { role: Role };
}

export function guardRoutes(
  app: FastifyInstance,
  auth: Authenticator,
  audit: AuditTrail,
  limit: RefusalLimit,
  counted: (answer: UnauthenticatedAnswer) => void,
): void {
  app.decorateRequest('caller', undefined);
  app.addHook('onRoute', (route) => {
    // A route that says nothing about its access is a programming error, never an open door.
    if (route.config?.access === undefined && !route.url.startsWith('*')) throw new Error(`route ${String(route.method)} ${route.url} names no access`);
  });
  app.addHook('onRequest', async (request, reply) => {
    const { access, audit: action } = request.routeOptions.config;
    if (access === undefined || access === 'public' || access === 'signed') return;
    const refused = async (statusCode: 401 | 403 | 503, message: string, caller?: Caller) => {
      if (action) {
        await audit.append({
          actor: caller ? { id: caller.id, name: caller.name, role: caller.role } : { id: 'unauthenticated', name: '(no valid credential)' },
          action,
          refundId: refundIdOf(request),
          outcome: 'refused',
          reason: message,
          detail: { httpStatus: statusCode },
          requestId: request.id,
        });
      }
      return sendProblem(reply, statusCode, message);
    };
    const authenticated = await auth.authenticate(request.headers.authorization);
    if (!authenticated.ok && authenticated.statusCode === 401) {
      // Past its source's limit, a refusal reaches neither the audit trail nor anything else: it is counted, and answered 429.
      const within = limit.take(request.ip);
      counted(within === true ? '401' : '429');
      if (within !== true) {
        void reply.header('retry-after', String(within.retryAfterSeconds));
        return sendProblem(reply, 429, `too many calls without a valid credential from ${request.ip}; try again in ${within.retryAfterSeconds} s`);
      }
    }
    if (!authenticated.ok) return refused(authenticated.statusCode, authenticated.message);
    const denied = roleProblem(authenticated.caller, access, `${request.method} ${request.routeOptions.url}`);
    if (denied) return refused(403, denied, authenticated.caller);
    request.caller = authenticated.caller;
    return undefined;
  });
}

function refundIdOf(request: FastifyRequest): string | undefined {
  const params = request.params as Record<string, string> | undefined;
  return params?.refundId;
}

function sendProblem(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  const answer = problem(statusCode, message);
  return reply.code(answer.statusCode).send(answer.body);
}
