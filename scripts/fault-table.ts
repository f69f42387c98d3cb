/**
 * `npm run docs:fault-table`: writes the fault model (test/fault-model/table.ts) into
 * docs/providers.md between its markers. The fault-table test fails while the two differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderFaultTable, TABLE_END, TABLE_START } from '../test/fault-model/table.js';

const path = new URL('../docs/providers.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const start = doc.indexOf(TABLE_START);
const end = doc.indexOf(TABLE_END);
if (start < 0 || end < start) {
  console.error(`docs/providers.md has no fault table markers: add ${TABLE_START} and ${TABLE_END} where the table goes`);
  process.exit(1);
}
writeFileSync(path, `${doc.slice(0, start + TABLE_START.length)}\n${renderFaultTable()}${doc.slice(end)}`);
console.log('docs/providers.md: fault table written');
