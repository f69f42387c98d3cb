import { webUiViews, workflowListUiUrlBeside } from '../domain/ui.js';
import type { RefundView } from './output.js';

/**
 * For each kind of refund among `refunds` that waits for a person (requires_attention,
 * awaiting_approval), one line with the Web UI list of every refund of that kind — the link of its
 * saved view (docs/operations.md, "The refunds view in the Web UI"). The CLI knows the Web UI only
 * from the API's `uiUrl` of a refund: without one, no line.
 */
export function webUiViewLines(refunds: readonly RefundView[]): string[] {
  return webUiViews.flatMap((view) => {
    const runUrl = refunds.find((refund) => refund.status === view.waitsForPerson && refund.uiUrl !== undefined)?.uiUrl;
    const link = runUrl === undefined ? undefined : workflowListUiUrlBeside(runUrl, view.query);
    return link === undefined ? [] : [`Web UI, every refund in ${view.waitsForPerson} ("${view.name}"): ${link}`];
  });
}
