import type { BulkProgress, LineResult } from './bulk.js';

/** What `refundflow bulk` ends with (and prints whole with --json). */
export interface BulkSummary {
  file: string;
  lines: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  notSent: number;
  seconds: number;
  perSecond: number;
  interrupted: boolean;
  /** Each rejected line and why; each line not sent and why. */
  problems: Array<{ line: number; outcome: 'rejected' | 'not_sent'; reason: string }>;
}

export function bulkSummary(file: string, results: LineResult[], seconds: number, interrupted: boolean): BulkSummary {
  const count = (outcome: LineResult['outcome']) => results.filter((r) => r.outcome === outcome).length;
  const answered = count('accepted') + count('duplicate') + count('rejected');
  return {
    file,
    lines: results.length,
    accepted: count('accepted'),
    duplicate: count('duplicate'),
    rejected: count('rejected'),
    notSent: count('not_sent'),
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round((answered / Math.max(seconds, 0.001)) * 10) / 10,
    interrupted,
    problems: results.flatMap((r) => (r.outcome === 'rejected' || r.outcome === 'not_sent' ? [{ line: r.line, outcome: r.outcome, reason: r.reason }] : [])),
  };
}

export function describeBulk(s: BulkSummary): string {
  const rows: Array<[string, number, string]> = [
    ['accepted', s.accepted, 'new events: their refunds are under way'],
    ['duplicate', s.duplicate, 'sent before (the same line, the same event id): nothing new'],
    ['rejected', s.rejected, 'not sent, or refused by the API: see below'],
    ['not sent', s.notSent, s.notSent > 0 ? 'run the same command again to send them' : ''],
  ];
  const width = String(s.lines).length;
  const out = [
    `${s.file}: ${s.lines} lines${s.interrupted ? ' (interrupted)' : ''}`,
    ...rows.map(([label, n, note]) => `  ${label.padEnd(10)} ${String(n).padStart(width)}${note && n > 0 ? `  ${note}` : ''}`),
    `  ${'rate'.padEnd(10)} ${s.perSecond} events/s over ${s.seconds} s`,
  ];
  const listed = (outcome: 'rejected' | 'not_sent', title: string) => {
    const problems = s.problems.filter((p) => p.outcome === outcome);
    if (problems.length === 0) return;
    out.push(`${title}:`);
    for (const p of problems.slice(0, 200)) out.push(`  line ${p.line}: ${p.reason}`);
    if (problems.length > 200) out.push(`  … and ${problems.length - 200} more (--json lists them all)`);
  };
  listed('rejected', 'rejected');
  listed('not_sent', 'not sent');
  if (s.accepted > 0) {
    out.push('The engine paces the providers (OEN_RATE_LIMIT, MWD_RATE_LIMIT); follow the refunds with `npx refundflow list --order <id>` or in the Web UI.');
  }
  return out.join('\n');
}

/**
 * Progress on stderr: a bar redrawn in place on a terminal; elsewhere (a log, CI) one line a second.
 * Shows the rate the API is taking events at.
 */
export function progressLine(total: number, stream: NodeJS.WriteStream = process.stderr): { update: (p: BulkProgress) => void; end: () => void } {
  const tty = stream.isTTY === true;
  let last: BulkProgress | undefined;
  let lastWritten = 0;
  const render = (p: BulkProgress) => {
    const fraction = total === 0 ? 1 : p.done / total;
    const filled = Math.round(fraction * 24);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(24 - filled)}`;
    return (
      `${bar} ${p.done}/${total} ${Math.floor(fraction * 100)}% · ${p.perSecond.toFixed(1)} events/s · ` +
      `accepted ${p.accepted}, duplicate ${p.duplicate}, rejected ${p.rejected}${p.notSent ? `, not sent ${p.notSent}` : ''}`
    );
  };
  const write = (p: BulkProgress) => {
    stream.write(tty ? `\r${render(p)}\u001b[K` : `${render(p)}\n`);
    lastWritten = Date.now();
  };
  return {
    update: (p) => {
      last = p;
      if (tty ? Date.now() - lastWritten >= 100 : Date.now() - lastWritten >= 1_000) write(p);
    },
    end: () => {
      if (last) write(last);
      if (tty) stream.write('\n');
    },
  };
}
