import type { FieldTable, RecordTable } from './field-table.js';
import { ADJOINT, FIELD_TABLES, HEADER, HEADER_WORDS, INBOX, MAX_REGIONS, MOMENTS, STATE } from './memory-layout.js';
import { CONFIG_RULES, PE_ENTRY_RULES, READ_RULES, TRAINING_RULES, WRITE_RULES } from './sim/config-rules.js';
import type { Rule } from './sim/design-rules.js';
import { HEADER_RULES, IMAGE_FILE_RULES, PROGRAM_RULES, REGION_RULES } from './sim/image-rules.js';

/**
 * The field tables and design rules as Markdown, for docs/chip-memory-layout.md (generated from the
 * definitions, so the document cannot drift from them: a test compares the two).
 */

const words = (n: number) => `${n} word${n === 1 ? '' : 's'}`;

function fieldRows(table: FieldTable<string>, prefix = ''): string[] {
  return table.names.map((k) => `| ${prefix}${table.fields[k].at} | \`${k}\` | ${table.fields[k].type} | ${table.fields[k].doc} |`);
}

function tableSection(t: FieldTable<string> | RecordTable<string, string>): string[] {
  const head = ['| word | field | type | meaning |', '| --- | --- | --- | --- |'];
  if ('fields' in t) return [`${words(t.words)}.`, '', ...head, ...fieldRows(t)];
  const room = t === HEADER ? ` The region has ${words(HEADER_WORDS)}: room for ${MAX_REGIONS} entries.` : '';
  return [
    `${words(t.head.words)}, then one record of ${words(t.record.words)} per entry (record i at word ${t.head.words} + ${t.record.words} i).${room}`,
    '',
    ...head,
    ...fieldRows(t.head),
    ...fieldRows(t.record, 'record + '),
  ];
}

/** Every field table: program(s), region, size and fields. */
export function fieldTablesMarkdown(): string {
  const out: string[] = [];
  for (const { programs, region, table } of FIELD_TABLES) {
    out.push(`### ${region} (${programs.join(', ')})`, '', ...tableSection(table), '');
  }
  out.push('### Regions of equal planes', '', '| region | planes, in order | holds |', '| --- | --- | --- |');
  for (const p of [STATE, INBOX, ADJOINT, MOMENTS]) out.push(`| ${p.name} | ${p.planes.map((n) => `\`${n}\``).join(', ')} | ${p.doc} |`);
  return out.join('\n') + '\n';
}

function ruleRows(title: string, rules: readonly Rule<never>[]): string[] {
  return [`**${title}**`, '', ...rules.map((r, i) => `${i + 1}. \`${r.name}\`: ${r.description}`), ''];
}

/** Every design rule of the config loader, in the order it runs them. */
export function designRulesMarkdown(): string {
  return [
    ...ruleRows('Each PE entry of spec.json (PE_ENTRY_RULES)', PE_ENTRY_RULES),
    ...ruleRows('Its image file (IMAGE_FILE_RULES)', IMAGE_FILE_RULES),
    ...ruleRows("The image's header (HEADER_RULES)", HEADER_RULES),
    ...Object.entries(PROGRAM_RULES).flatMap(([program, rules]) => ruleRows(`The ${program} program (PROGRAM_RULES.${program})`, rules)),
    ...ruleRows("The image's regions (REGION_RULES)", REGION_RULES),
    ...ruleRows('The directory, after every image (CONFIG_RULES)', CONFIG_RULES),
    ...ruleRows('Each write entry (WRITE_RULES)', WRITE_RULES),
    ...ruleRows('Each read entry (READ_RULES)', READ_RULES),
    ...ruleRows('A training export (TRAINING_RULES)', TRAINING_RULES),
  ].join('\n');
}
