// Types of scripts/ensure-deps.mjs (plain JavaScript, as it runs before any dependency is installed).

/** True when `dir`'s node_modules was installed from its current package-lock.json; `dir` defaults to this project. */
export function depsUpToDate(dir?: string): boolean;

/** Runs `npm ci` in `dir` (default: this project) unless node_modules is up to date; exits the process if it fails. */
export function ensureDeps(dir?: string): void;
