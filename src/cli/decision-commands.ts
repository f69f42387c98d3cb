import type { Command } from 'commander';
import { operatorInput } from '../domain/schemas/operator.js';
import { refundIdSchema } from '../domain/schemas/refund-request.js';
import { callApi, type CliContext } from './api.js';
import { checkedBy } from './flags.js';
import { print } from './output.js';

const decisions = [
  ['approve', 'approve a refund awaiting approval (an approver)'],
  ['reject', 'reject a refund awaiting approval; it ends cancelled (an approver)'],
  ['cancel', 'cancel a refund before it is submitted to the provider (an operator)'],
] as const;

/** approve, reject, cancel: the operator actions, as the person the credential names (recorded by the API). */
export function decisionCommands(program: Command, ctx: () => CliContext): void {
  for (const [action, description] of decisions) {
    program
      .command(action)
      .description(`${description} (needs the operator credential: --token-file, REFUNDFLOW_TOKEN…)`)
      .argument('<refundId>', 'the refund', checkedBy('<refundId>', refundIdSchema))
      .option('--reason <text>', 'why, for the record', checkedBy('--reason', operatorInput.shape.reason))
      .action(async (refundId: string, o: { reason?: string }) => {
        const c = ctx();
        const { body } = await callApi(c, 'POST', `/v1/refunds/${encodeURIComponent(refundId)}/${action}`, {
          use: 'required',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...(o.reason !== undefined && { reason: o.reason }) }),
        });
        const waiting = body.status === 'awaiting_approval' && typeof body.approvalsNeeded === 'number';
        const approvals = Array.isArray(body.approvals) ? body.approvals.length : 0;
        print(c, body, () =>
          waiting
            ? `${action}: refund ${refundId} has ${approvals} of ${String(body.approvalsNeeded)} approvals; it needs an approver who is another person`
            : `${action}: refund ${refundId} is now ${String(body.status)}`,
        );
      });
  }
}
