import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureBuilt, freshDir, removeTempDirs, runCli } from './run-cli.js';

/**
 * Every command's --help, as a user reads it: each option has a description, and a command with
 * sub-commands (sweep) lists them and shows each one's own options only. The commands are found by
 * walking the help itself, so a command added later is checked too.
 */

vi.setConfig({ testTimeout: 120_000 });
beforeAll(async () => {
  await ensureBuilt();
}, 120_000);
afterAll(removeTempDirs);

/** The sub-command names listed under "Commands:" in a help text for `prefix` (e.g. "s2prop sweep"). */
function subcommands(help: string, prefix: string): string[] {
  const section = help.split(/\n\s*\n/).find((p) => p.startsWith('Commands:'));
  if (!section) return [];
  const out: string[] = [];
  for (const line of section.split('\n').slice(1)) {
    const m = new RegExp(`^  ${prefix} ([\\w-]+)`).exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

/** Option lines of a help text (`  --flag ...` or `  -x, --flag ...`) and the flags with nothing but [tags] after them. */
function undescribed(help: string): { options: string[]; missing: string[] } {
  const section = help.split(/\n\s*\n/).find((p) => p.startsWith('Options:')) ?? '';
  const options: string[] = [];
  const missing: string[] = [];
  for (const line of section.split('\n').slice(1)) {
    const m = /^ {2}(?:-\w, )?(--[\w.-]+)(.*)$/.exec(line);
    if (!m) continue;
    options.push(m[1]);
    if (/^(\s+\[[^\]]*\])*\s*$/.test(m[2])) missing.push(m[1]);
  }
  return { options, missing };
}

async function help(words: string[], dir: string): Promise<string> {
  const r = await runCli([...words, '--help'], dir);
  expect(r.status, `s2prop ${words.join(' ')} --help: ${r.stderr}`).toBe(0);
  return r.stdout;
}

describe('--help of every command', () => {
  it('names a description for every option of every command and sweep action', async () => {
    const dir = freshDir();
    const top = await help([], dir);
    const commands = subcommands(top, 's2prop');
    expect(commands).toContain('train');
    expect(commands).toContain('sweep');
    const missing: string[] = [];
    const visit = async (words: string[]): Promise<void> => {
      const text = await help(words, dir);
      const { options, missing: m } = undescribed(text);
      expect(options.length, `s2prop ${words.join(' ')} --help lists options`).toBeGreaterThan(0);
      missing.push(...m.map((flag) => `s2prop ${words.join(' ')} ${flag}`));
      await Promise.all(subcommands(text, `s2prop ${words.join(' ')}`).map((sub) => visit([...words, sub])));
    };
    await Promise.all(commands.map((c) => visit([c])));
    expect(missing, 'options without a description').toEqual([]);
  });

  it('sweep <action> --help shows that action and its own options only', async () => {
    const dir = freshDir();
    const sweep = await help(['sweep'], dir);
    expect(subcommands(sweep, 's2prop sweep').sort()).toEqual(['best', 'create', 'export', 'run', 'status', 'worker']);
    const flags = async (action: string) => undescribed(await help(['sweep', action], dir)).options.filter((f) => f !== '--help' && f !== '--version').sort();
    expect(await flags('status')).toEqual(['--name', '--study']);
    expect(await flags('export')).toEqual(['--name', '--out', '--study']);
    expect(await flags('worker')).toEqual(['--backend', '--name', '--stack', '--stale-after', '--study']);
    expect(await flags('run')).toEqual(['--backend', '--name', '--space', '--stack', '--stale-after', '--study', '--workers']);
    expect(await flags('best')).toEqual(['--backend', '--name', '--repeat-best', '--study']);
    // --out names every file export writes
    // (yargs wraps the text mid-word: compare without white space)
    const out = (await help(['sweep', 'export'], dir)).replace(/\s+/g, '');
    for (const f of ['trials.csv', 'best-config.json', 'history.svg', 'parallel-coordinates.svg', 'importance.svg']) expect(out).toContain(f);
  });
});
