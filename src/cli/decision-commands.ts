import type { Command } from 'commander';
import { callApi, type CliContext } from './api.js';
import { print } from './output.js';

const decisions = [
  ['approve', 'approve a refund awaiting approval'],
  ['reject', 'reject a refund awaiting approval (it ends cancelled)'],
  ['cancel', 'cancel a refund before it is submitted to the provider'],
] as const;

/** approve, reject, cancel: the operator actions, with the operator credential. */
export function decisionCommands(program: Command, ctx: () => CliContext): void {
  for (const [action, description] of decisions) {
    program
      .command(action)
      .description(`${description} (needs the operator credential: --token-file, REFUNDFLOW_TOKEN…)`)
      .argument('<refundId>')
      .option('--by <name>', 'who decides, for the record')
      .option('--reason <text>', 'why, for the record')
      .action(async (refundId: string, o: { by?: string; reason?: string }) => {
        const c = ctx();
        const { body } = await callApi(c, 'POST', `/v1/refunds/${encodeURIComponent(refundId)}/${action}`, {
          use: 'required',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...(o.by !== undefined && { by: o.by }), ...(o.reason !== undefined && { reason: o.reason }) }),
        });
        print(c, body, () => `${action}: refund ${refundId} is now ${String(body.status)}`);
      });
  }
}
