// Regenerate the field tables and design rules in docs/chip-memory-layout.md from their definitions
// (src/chip/memory-layout.ts, src/chip/sim/*-rules.ts); test/chip/field-tables.test.ts checks they agree.
//
//   npm run build && node scripts/chip-layout-doc.mjs
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { fieldTablesMarkdown, designRulesMarkdown } = await import(join(root, 'dist/chip/layout-doc.js'));
const path = join(root, 'docs/chip-memory-layout.md');
let doc = readFileSync(path, 'utf8');
for (const [name, text] of [['field tables', fieldTablesMarkdown()], ['design rules', designRulesMarkdown()]]) {
  const begin = `<!-- generated: ${name} (node scripts/chip-layout-doc.mjs) -->\n`;
  const end = `<!-- end of generated ${name} -->`;
  const a = doc.indexOf(begin);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${path}: no '${begin.trim()}' ... '${end}' section`);
  doc = doc.slice(0, a + begin.length) + '\n' + text + '\n' + doc.slice(b);
}
writeFileSync(`${path}.tmp`, doc);
renameSync(`${path}.tmp`, path);
