// Prints the plain "N passed, N failed" line from vitest's JSON report (CI counts the tests that
// ran from it). Exits non-zero when the report is missing or shows no test at all.
import { existsSync, readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test/artifacts/vitest-results.json';
if (!existsSync(file)) {
  console.log('0 passed, 0 failed');
  console.error(`No test report at ${file}: the suite did not run (lint or type check failed?).`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(file, 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`${report.numPassedTests} passed, ${report.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ''}`);
if (report.numTotalTests === 0 || report.numFailedTests > 0 || report.success === false) process.exit(1);
