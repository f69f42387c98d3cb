import type { RefundStatus } from './refund-status.js';
import { RefundStatusKey } from './search-attributes.js';

/** The Temporal Web UI's page of one workflow, as the API and outcome events link to it. */
export function workflowUiUrl(uiBaseUrl: string, namespace: string, workflowId: string): string {
  return `${namespaceUiUrl(uiBaseUrl, namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * The Web UI's workflow list filtered by `query` (a visibility query, as typed in the list's query
 * box). With `saveAs`, opening it also saves the filter as a view of that name in the browser — the
 * UI's own *Share* link of a saved view (UI 2.42): each opening saves one more copy.
 */
export function workflowListUiUrl(uiBaseUrl: string, namespace: string, query: string, saveAs?: string): string {
  const saved = saveAs === undefined ? '' : `&savedQuery=${encodeURIComponent(saveAs)}`;
  return `${namespaceUiUrl(uiBaseUrl, namespace)}/workflows?query=${encodeURIComponent(query)}${saved}`;
}

/**
 * The filtered list in the same Web UI and namespace as a run's page (`workflowUiUrl`): what a
 * client that holds only a refund's `uiUrl` (the CLI) can link to. Undefined for any other URL.
 */
export function workflowListUiUrlBeside(runUiUrl: string, query: string): string | undefined {
  const run = /^(.*)\/namespaces\/([^/?#]+)\/workflows\/[^/?#]+$/.exec(runUiUrl);
  if (!run?.[1] || !run[2]) return undefined;
  return workflowListUiUrl(run[1], decodeURIComponent(run[2]), query);
}

function namespaceUiUrl(uiBaseUrl: string, namespace: string): string {
  return `${uiBaseUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}`;
}

/** The list query of the refunds in one status: `RefundStatus="requires_attention"`. */
export function refundStatusQuery(status: RefundStatus): string {
  return `${RefundStatusKey.name}="${status}"`;
}

/** A saved view of the Web UI's workflow list: its name and its query. */
export interface WebUiView {
  name: string;
  query: string;
  /** The refunds it lists are in this status, and wait for a person: the CLI links to it beside them. */
  waitsForPerson?: RefundStatus;
}

/**
 * The saved views docs/operations.md ("The refunds view in the Web UI") has operators create, in the
 * order it lists them. Their names are how the alerts pick their link (the API's
 * refundflow_web_ui_view_info); their queries are what the links open, so a link opens its saved view.
 */
export const webUiViews: readonly WebUiView[] = [
  { name: 'Needs a person', query: refundStatusQuery('requires_attention'), waitsForPerson: 'requires_attention' },
  { name: 'Awaiting approval', query: refundStatusQuery('awaiting_approval'), waitsForPerson: 'awaiting_approval' },
  { name: 'Sending', query: refundStatusQuery('submitting') },
  { name: 'Refunds', query: 'WorkflowType="refundWorkflow"' },
];
