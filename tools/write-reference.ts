/**
 * Writes docs/roster-extension.md from the attribute registry (src/schema/reference.ts).
 *   npm run docs:reference            writes the file
 *   npm run docs:reference -- --check exits 1 when the file is out of date
 * test/unit/reference.test.ts runs the same comparison.
 */
import fs from 'node:fs';
import path from 'node:path';
import { attributeReference } from '../src/schema/reference';

const file = path.join(__dirname, '..', 'docs', 'roster-extension.md');
const wanted = attributeReference();

if (process.argv.includes('--check')) {
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (current !== wanted) {
    process.stderr.write('docs/roster-extension.md is out of date: run npm run docs:reference\n');
    process.exit(1);
  }
} else {
  fs.writeFileSync(file, wanted);
  process.stdout.write('wrote docs/roster-extension.md\n');
}
