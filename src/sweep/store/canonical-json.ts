/**
 * Canonical JSON for comparing search spaces: object keys sorted at every depth, so that two spaces that
 * differ only in key order are the same space. `describeDifference` names the first place they differ.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/**
 * The first difference between `stored` and `given` as a short phrase, e.g.
 * `space["optimiser.lr"].high is 0.1 in the store, 0.2 here`; null when they are canonically equal.
 */
export function describeDifference(stored: unknown, given: unknown, path = 'space'): string | null {
  if (canonicalJson(stored) === canonicalJson(given)) return null;
  const bothArrays = Array.isArray(stored) && Array.isArray(given);
  const bothObjects = isObject(stored) && isObject(given);
  if (bothArrays) {
    const a = stored as unknown[];
    const b = given as unknown[];
    if (a.length !== b.length) return `${path} has ${a.length} entries in the store, ${b.length} here`;
    for (let i = 0; i < a.length; i++) {
      const d = describeDifference(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
  } else if (bothObjects) {
    const a = stored as Record<string, unknown>;
    const b = given as Record<string, unknown>;
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const sub = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      if (a[key] === undefined && b[key] !== undefined) return `${sub} is missing in the store, ${short(b[key])} here`;
      if (b[key] === undefined && a[key] !== undefined) return `${sub} is ${short(a[key])} in the store, missing here`;
      const d = describeDifference(a[key], b[key], sub);
      if (d) return d;
    }
  }
  return `${path} is ${short(stored)} in the store, ${short(given)} here`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function short(v: unknown): string {
  const text = canonicalJson(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
