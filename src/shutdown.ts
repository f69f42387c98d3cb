/**
 * Graceful stop on SIGINT/SIGTERM for our entry points.
 *
 * One Ctrl-C often arrives more than once: the terminal signals the whole process group, and npm
 * relays the signal to its child as well. So a repeat within a couple of seconds is the same request;
 * only a later one means "stop now", and calls `force`.
 */
export interface ShutdownHandlers {
  stop: (signal: NodeJS.Signals) => void;
  force: () => void;
}

const SAME_REQUEST_MS = 2_000;

export function handleShutdownSignals({ stop, force }: ShutdownHandlers, now: () => number = Date.now): () => void {
  let firstAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    if (firstAt === undefined) {
      firstAt = now();
      stop(signal);
    } else if (now() - firstAt > SAME_REQUEST_MS) {
      force();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
