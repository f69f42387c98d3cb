// Prints the 15 slowest test files with their times, the Node that ran the suite, then the plain
// "N passed, N failed" line from vitest's JSON report, last (CI counts the tests that ran from it).
// Exits non-zero when the report is missing or shows no test at all.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const SLOWEST = 15;
const file = process.argv[2] ?? 'test/artifacts/vitest-results.json';
if (!existsSync(file)) {
  console.log('0 passed, 0 failed');
  console.error(`No test report at ${file}: the suite did not run (lint or type check failed?).`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8'));

/**
 * Each file's time: from test/reporters/file-times.ts's file beside the report (import and hooks
 * included), or, without it, the JSON report's first test start to last test end.
 */
function fileTimes() {
  const timesFile = join(dirname(file), 'vitest-file-times.json');
  if (existsSync(timesFile)) {
    return JSON.parse(readFileSync(timesFile, 'utf8')).map(({ file: f, project, ms, state }) => ({ file: f, project, ms, state }));
  }
  return report.testResults.map((r) => ({ file: relative(process.cwd(), r.name), project: '', ms: Math.round(r.endTime - r.startTime), state: r.status }));
}

const times = fileTimes().sort((a, b) => b.ms - a.ms);
if (times.length > 0) {
  const total = times.reduce((sum, t) => sum + t.ms, 0);
  console.log(`\nThe ${Math.min(SLOWEST, times.length)} slowest test files (of ${times.length}; ${(total / 1000).toFixed(0)} s of file time in all):`);
  const width = Math.max(...times.slice(0, SLOWEST).map((t) => t.project.length));
  for (const { file: f, project, ms } of times.slice(0, SLOWEST)) {
    console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${project.padEnd(width)}  ${f}`);
  }
  console.log('');
}

// Which Node ran the suite (test/reporters/run-node.ts), from the file beside the report.
const nodeFile = join(dirname(file), 'vitest-node.json');
if (existsSync(nodeFile)) {
  const node = JSON.parse(readFileSync(nodeFile, 'utf8'));
  console.log(`The suite ran on Node ${node.version} (${node.execPath}).`);
}

// Every file that did not pass, by name: a file whose test process died (vitest's "Worker exited
// unexpectedly", which names no file) has no result, and its tests count as not finished rather
// than vanish from the line below.
const notPassed = times.filter((t) => t.state !== 'passed' && t.state !== 'skipped');
for (const { file: f, project, state } of notPassed) console.log(`Did not pass (${state}): ${f}${project ? ` [${project}]` : ''}`);

const skipped = report.numPendingTests + report.numTodoTests;
const notRun = report.numTotalTests - report.numPassedTests - report.numFailedTests - skipped;
console.log(
  `${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}${notRun > 0 ? `, ${notRun} did not finish` : ''}`,
);
if (report.numTotalTests === 0 || report.numFailedTests > 0 || notRun > 0 || notPassed.length > 0 || report.success === false) process.exit(1);
