/**
 * JSON for people and diffs: objects indented, arrays of plain values (a weight row) kept on one line.
 * Numbers are written by JSON.stringify, the shortest text that parses back to the identical double.
 */
export function stringifyJson(value: unknown, indent = '', step = '  '): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = indent + step;
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) return `[${value.map((v) => JSON.stringify(v)).join(',')}]`;
    return `[\n${value.map((v) => inner + stringifyJson(v, inner, step)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${stringifyJson(v, inner, step)}`).join(',\n')}\n${indent}}`;
}

/** Serialise for a file: compact rows, trailing newline. */
export function toJsonText(value: unknown): string {
  return stringifyJson(value) + '\n';
}
