// Types of scripts/cache-dir.mjs (plain JavaScript, as scripts/ensure-deps.mjs reads it before any dependency is installed).

/** ~/.cache/refundflow (or REFUNDFLOW_CACHE_DIR / XDG_CACHE_HOME): every clone on the machine shares it. */
export function cacheDir(env?: NodeJS.ProcessEnv): string;
