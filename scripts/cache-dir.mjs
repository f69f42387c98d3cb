// Where refundflow keeps what it installs once per machine, outside every clone: the Temporal CLI
// and the cluster's binaries it builds (scripts/go-install.ts), and the Node.js the scripts run on
// when the machine's is too old (scripts/node-runtime.mjs). Plain Node with no dependencies, since
// scripts/ensure-deps.mjs reads it before any are installed.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** ~/.cache/refundflow (or REFUNDFLOW_CACHE_DIR / XDG_CACHE_HOME): every clone on the machine shares it. */
export function cacheDir(env = process.env) {
  return env.REFUNDFLOW_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'refundflow');
}
