// Types of scripts/ensure-deps.mjs (plain JavaScript, as it runs before any dependency is installed).
import type { NodeForOptions } from './node-runtime.mjs';

/** True when `dir`'s node_modules was installed from its current package-lock.json; `dir` defaults to this project. */
export function depsUpToDate(dir?: string): boolean;

/** Makes `node` in `dir`'s npm scripts the one in `bin` (node_modules/.bin/node, a link); true when it made or changed the link. */
export function linkNode(dir: string, bin: string): boolean;

/**
 * Readies `dir` (default: this project): the Node its scripts run on (linked as node_modules/.bin/node
 * when the running one is too old), then `npm ci` unless node_modules is up to date; exits the process
 * when either cannot be done. Returns the bin folder of that Node when it is not the running one.
 */
export function ensureDeps(dir?: string, options?: NodeForOptions): string | undefined;
