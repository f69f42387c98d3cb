import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * A sleep that orders two events ("sleep 3 s, the intake has written the event by then") passes
 * only while the machine is fast enough, and fails as a wrong assertion when it is not. The tests
 * wait on the event itself instead: expect.poll on what shows it, a promise the code resolves, a
 * line a process prints. Every timer left in the test code is listed here with why it is not such
 * a wait; a new one fails this file until it is given a reason, and an entry whose timer is gone
 * fails it too. Fixtures (test/fixtures) are programs the tests run, not tests: not scanned.
 */

/** A call that waits for time to pass, or arms a timer: by its callee's name. */
const TIMER_CALLS = new Set(['setTimeout', 'setInterval', 'sleep', 'delay', 'waitForTimeout']);
/** The same in SQL, and the promise-returning timers of Node. */
const SQL_SLEEP = /\bpg_sleep(_for|_until)?\s*\(/i;
const TIMER_MODULES = new Set(['timers/promises', 'node:timers/promises']);

interface Timer {
  file: string;
  line: number;
  text: string;
}

/** The timers in one file's source: each call, SQL sleep and timers module import, with its line. */
function timersIn(file: string, source: string): Timer[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true);
  const found: Timer[] = [];
  const at = (node: ts.Node) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
    found.push({ file, line: line + 1, text: (source.split('\n')[line] ?? '').trim() });
  };
  const visit = (node: ts.Node) => {
    if (ts.isCallExpression(node)) {
      const callee = ts.isPropertyAccessExpression(node.expression) ? node.expression.name : node.expression;
      if (ts.isIdentifier(callee) && TIMER_CALLS.has(callee.text)) at(node);
    } else if ((ts.isStringLiteralLike(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) && SQL_SLEEP.test(node.text)) {
      at(node);
    } else if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && TIMER_MODULES.has(node.moduleSpecifier.text)) {
      at(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' || entry.name === 'artifacts' ? [] : testSources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/**
 * The timers the tests keep: the file, a piece of the line that holds it, and why it is not a sleep
 * ordering two events. Each entry names exactly one timer.
 */
const ALLOWED: Array<{ file: string; line: string; why: string }> = [
  {
    file: 'test/helpers/brokers.ts',
    line: 'socket.setTimeout(3_000);',
    why: "the deadline of the probe of a broker's port: an unanswered one counts as not listening",
  },
  { file: 'test/helpers/process.ts', line: 'const timer = setTimeout(() => {', why: "waitForOutput's deadline: it ends the wait with its own message" },
  {
    file: 'test/chaos/processes.ts',
    line: "setTimeout(() => child.signalGroup('SIGKILL'), 15_000)",
    why: 'the deadline of a SIGTERM: a process not gone by then is SIGKILLed',
  },
  { file: 'test/helpers/temporal-under-test.ts', line: 'const sleep = (ms: number)', why: 'the outage below is made of it' },
  { file: 'test/helpers/temporal-under-test.ts', line: 'await sleep(5_000);', why: 'how long the killed history host stays down: the fault under test' },
  {
    file: 'test/browser/refunds-view.test.ts',
    line: 'setTimeout(resolve, 250)',
    why: "the poll interval of the set-up's wait (until), bounded by its 60 s deadline",
  },
  {
    file: 'test/helpers/temporal-under-test.ts',
    line: 'await sleep(1_000);',
    why: "the poll interval of the wait for the restarted history host in the cluster's tables, bounded by its deadline",
  },
  { file: 'test/chaos/harness.ts', line: 'const sleep = (ms: number)', why: 'the chaos below is made of it' },
  { file: 'test/chaos/harness.ts', line: 'await sleep(between(2_000, 6_000));', why: 'the time between worker kills: the chaos under test' },
  { file: 'test/chaos/harness.ts', line: 'await sleep(between(200, 1_500));', why: 'how long a killed worker stays down: the outage under test' },
  { file: 'test/chaos/harness.ts', line: 'while (sent < refunds.length * 0.3', why: 'the interval of a poll on the count of events sent' },
  { file: 'test/chaos/harness.ts', line: 'while (sent < refunds.length * (0.6', why: 'the interval of a poll on the count of events sent' },
  { file: 'test/chaos/harness.ts', line: 'await sleep(2_000);', why: "the drain's poll interval: it ends on the settled count or its deadline" },
  { file: 'test/chaos/harness.ts', line: 'while (sent < refunds.length * 0.4', why: 'the interval of a poll on the count of events sent' },
  { file: 'test/chaos/harness.ts', line: 'while (sent < refunds.length * 0.5', why: 'the interval of a poll on the count of events sent' },
  { file: 'test/chaos/harness.ts', line: 'await sleep(between(500, 3_000));', why: 'how long the API and its relay stay down: the outage under test' },
  { file: 'test/chaos/brokers.ts', line: 'const sleep = (ms: number)', why: 'the outages and pauses below are made of it' },
  {
    file: 'test/chaos/processes.ts',
    line: "// a sender's pause before it sends again",
    why: "a sender's or publisher's pause before it sends again after no answer, as a real one's",
  },
  { file: 'test/chaos/brokers.ts', line: "await sleep(downMs); // RabbitMQ's outage itself", why: 'how long RabbitMQ stays down: the outage under test' },
  { file: 'test/chaos/brokers.ts', line: "await sleep(downMs); // NATS's outage itself", why: 'how long NATS stays down: the outage under test' },
  { file: 'test/chaos/resolves.ts', line: 'const sleep = (ms: number)', why: 'the pauses below are made of it' },
  { file: 'test/chaos/resolves.ts', line: 'await sleep(1_000);', why: "a person's pause before they ask again after a refusal (Oen unreachable)" },
  { file: 'test/chaos/resolves.ts', line: 'await sleep(500);', why: "the interval of a poll on the refund's status, bounded by its deadline" },
];

describe('sleeps in the tests', () => {
  const self = relative(process.cwd(), new URL(import.meta.url).pathname);
  const files = testSources(join(process.cwd(), 'test'))
    .map((path) => relative(process.cwd(), path))
    .filter((file) => file !== self);
  const timers = files.flatMap((file) => timersIn(file, readFileSync(file, 'utf8')));
  const allows = (entry: (typeof ALLOWED)[number], timer: Timer) => timer.file === entry.file && timer.text.includes(entry.line);

  it('are each a timer with a reason: a deadline, a poll interval, or the fault under test; none orders two events', () => {
    expect(files.length).toBeGreaterThan(100);
    const unexplained = timers.filter((timer) => !ALLOWED.some((entry) => allows(entry, timer))).map((t) => `${t.file}:${t.line}: ${t.text}`);
    expect(unexplained, 'timers that may order two events: wait on the event itself, or list the timer in ALLOWED with its reason').toEqual([]);
    const stale = ALLOWED.filter((entry) => timers.filter((timer) => allows(entry, timer)).length !== 1).map((e) => `${e.file}: ${e.line}`);
    expect(stale, 'entries of ALLOWED that name no timer, or more than one').toEqual([]);
  });

  it('are found as calls, SQL and imports, in code and not in comments', () => {
    const source = [
      '// await sleep(1_000) is what this file used to do',
      "import { setTimeout as wait } from 'node:timers/promises';",
      'await new Promise((resolve) => setTimeout(resolve, 3_000));',
      "await db.query('SELECT pg_sleep(0.05)');",
      'await page.waitForTimeout(500);',
      'const timeoutMs = 5_000; // setTimeout( in a comment',
    ].join('\n');
    expect(timersIn('example.ts', source).map((t) => t.line)).toEqual([2, 3, 4, 5]);
  });
});
