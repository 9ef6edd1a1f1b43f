import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anchorsOf, githubSlug } from '../../scripts/check-links.mjs';

/**
 * The documentation's links (scripts/check-links.mjs): every relative link in README.md, docs/*.md and
 * results/*.md resolves to a file or folder inside the repository and, with an anchor, to a heading of
 * the target; nothing points at the development machine's shared folder; external links are http(s).
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(REPO, 'scripts', 'check-links.mjs');

function run(args: string[]) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 's2prop-links-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe('check-links', () => {
  it('the repository: every link of README.md, docs/*.md and results/*.md resolves, none leaves it', () => {
    const r = run([]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^check-links: \d+ links in \d+ files/);
  });

  it("heading ids follow GitHub's rule (hand-derived: lower case, punctuation dropped, spaces to hyphens)", () => {
    expect(githubSlug('`s2prop export` — a SpiNNaker2 configuration'.replace(/`/g, ''))).toBe('s2prop-export--a-spinnaker2-configuration');
    expect(githubSlug('Quantised weights (int8, int4)')).toBe('quantised-weights-int8-int4');
    expect(githubSlug('Calibrated rounding: int8 and int4 on the chip simulator')).toBe('calibrated-rounding-int8-and-int4-on-the-chip-simulator');
    expect(githubSlug('The native TensorFlow backend: the op path')).toBe('the-native-tensorflow-backend-the-op-path');
    // repeated headings are numbered; headings inside code fences are not headings
    const md = '# Title\n## Setup\n## Setup\n```sh\n# not a heading\n```\n### `npm start` / `s2prop main`\n';
    expect([...anchorsOf(md)].sort()).toEqual(['npm-start--s2prop-main', 'setup', 'setup-1', 'title'].sort());
  });

  it('a tree whose links all resolve passes, and counts each link once (6 here; code is not checked)', () => {
    const root = tree({
      'README.md': [
        '# Project',
        'See [the guide](docs/guide.md#second-part), [results](results/README.md), [a folder](results/data/),',
        'the paper <https://doi.org/10.1038/s41598-021-91786-z> and [here](#project).',
        '```sh',
        'cat [not a link](missing.md)',
        '```',
        'Inline `[not a link](missing.md)` either.',
      ].join('\n'),
      'docs/guide.md': '# Guide\n## Second part\nBack to the [README](../README.md).\n',
      'results/README.md': '# Results\n',
      'results/data/x.csv': 'a\n',
    });
    const r = run(['--root', root]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('check-links: 6 links in 3 files');
  });

  it('each kind of bad link is one line naming the file, the line and the target, and the exit status is 1', () => {
    const root = tree({
      'README.md': [
        '# Project',
        '[gone](docs/missing.md)',
        '[bad anchor](docs/guide.md#no-such-part)',
        '[outside](../elsewhere/notes.md)',
        `The contract is in ${['..', 'shared'].join('/')}/reference/eventprop.md.`,
        '[local file](file:///etc/passwd)',
        '[absolute](/docs/guide.md)',
        '[anchor into csv](results/x.csv#row)',
      ].join('\n'),
      'docs/guide.md': '# Guide\n## Part\n',
      'results/x.csv': 'a\n',
    });
    const r = run(['--root', root]);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(/^README\.md:2: docs\/missing\.md: no such file or folder/);
    expect(lines[1]).toMatch(/^README\.md:3: docs\/guide\.md#no-such-part: no heading with the id 'no-such-part' in docs\/guide\.md/);
    expect(lines[2]).toMatch(/^README\.md:4: \.\.\/elsewhere\/notes\.md: leaves the repository/);
    expect(lines[3]).toMatch(/^README\.md:5: mentions the development machine's shared folder/);
    expect(lines[4]).toMatch(/^README\.md:6: file:\/\/\/etc\/passwd: a file: link leaves the repository/);
    expect(lines[5]).toMatch(/^README\.md:7: \/docs\/guide\.md: an absolute path/);
    expect(lines[6]).toMatch(/^README\.md:8: results\/x\.csv#row: an anchor into something that is not a Markdown file/);
    expect(lines[7]).toBe('check-links: 7 problem(s) in 2 file(s)');
  });

  it('a --root that is not a folder is one error line and exit status 2', () => {
    const r = run(['--root', join(REPO, 'README.md')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--root .*README\.md: not a folder/);
  });
});
