import type { FieldProblem } from '../domain/schemas/events.js';

/** What the API answers: a status code and a JSON body. */
export interface Answer {
  statusCode: number;
  body: unknown;
}

/** The problem answer every error uses: what went wrong, and field by field where there are fields. */
export function problem(statusCode: number, error: string, problems?: FieldProblem[]): Answer {
  return { statusCode, body: { error, ...(problems && { problems }) } };
}
