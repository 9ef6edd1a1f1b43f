#!/usr/bin/env node
// Checks the links of the repository's documentation: README.md, docs/*.md and results/*.md.
//
//   node scripts/check-links.mjs [--root DIR]
//
// - A relative link must resolve to a file or folder inside the repository, and a `#anchor` must name a
//   heading of the target Markdown file (GitHub's heading ids: lower case, punctuation dropped, spaces to
//   hyphens, repeated headings numbered -1, -2, ...).
// - A link may leave the repository only to a public source: http(s) or mailto. Any mention of the
//   development machine's shared folder (a parent folder named shared, or /work's) is an error, link or not: a user of
//   the repository does not have it.
// - Links inside fenced code blocks and inline code are not links and are not checked.
// Prints one line per problem (`file:line: target: what is wrong`) and exits 1 when there is any; else one
// summary line and exit 0. `npm test` runs it (test/docs/links.test.ts).

import { existsSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Markdown files checked, relative to the root: README.md, docs/*.md, results/*.md. */
export function docFiles(root) {
  const files = [];
  if (existsSync(join(root, 'README.md'))) files.push('README.md');
  for (const dir of ['docs', 'results']) {
    const full = join(root, dir);
    if (!existsSync(full)) continue;
    for (const name of readdirSync(full).sort()) {
      if (name.endsWith('.md') && statSync(join(full, name)).isFile()) files.push(`${dir}/${name}`);
    }
  }
  return files;
}

/** GitHub's id for a heading's text (as github-slugger makes it). */
export function githubSlug(text) {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The visible text of a heading's Markdown: links to their text, code spans and emphasis unwrapped. */
function headingText(md) {
  return md
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/(\*\*|__|\*)/g, '');
}

/** Lines of a Markdown file with fenced code blocks blanked out (line numbers kept). */
function proseLines(text) {
  const lines = text.split('\n');
  let fence = null;
  return lines.map((line) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = null;
      return '';
    }
    if (m) {
      fence = m[1];
      return '';
    }
    return line;
  });
}

/** The anchors a Markdown file defines: its headings' ids, and explicit <a id|name="..."> anchors. */
export function anchorsOf(text) {
  const anchors = new Set();
  const seen = new Map();
  for (const line of proseLines(text)) {
    const h = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h) {
      const base = githubSlug(headingText(h[1]));
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      anchors.add(n === 0 ? base : `${base}-${n}`);
    }
    for (const a of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(a[1]);
  }
  return anchors;
}

/** The links of a Markdown file: [text](target), [text]: target definitions, <scheme://...> autolinks. */
export function linksOf(text) {
  const links = [];
  proseLines(text).forEach((raw, i) => {
    const line = raw.replace(/`[^`]*`/g, (s) => ' '.repeat(s.length));
    for (const m of line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ line: i + 1, target: m[1] });
    const def = /^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(line);
    if (def) links.push({ line: i + 1, target: def[1] });
    for (const m of line.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)) links.push({ line: i + 1, target: m[1] });
  });
  return links;
}

function inside(root, path) {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** All problems of the documentation under root, as `file:line: target: reason` lines. */
export function checkLinks(root) {
  root = realpathSync(resolve(root));
  const files = docFiles(root);
  const problems = [];
  const anchorCache = new Map();
  const anchors = (file) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchorsOf(readFileSync(file, 'utf8')));
    return anchorCache.get(file);
  };
  let count = 0;
  for (const file of files) {
    const full = join(root, file);
    const text = readFileSync(full, 'utf8');
    const found = []; // [line, message], reported in line order
    const problem = (line, message) => found.push([line, `${file}:${line}: ${message}`]);
    text.split('\n').forEach((line, i) => {
      if (/(\.\.\/)+shared\b|\/work\/shared\b/.test(line)) {
        problem(i + 1, "mentions the development machine's shared folder, which users of the repository do not have");
      }
    });
    for (const { line, target } of linksOf(text)) {
      count++;
      const report = (message) => problem(line, `${target}: ${message}`);
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target);
      if (scheme) {
        const s = scheme[1].toLowerCase();
        if (s !== 'http' && s !== 'https' && s !== 'mailto') {
          report(`a ${s}: link leaves the repository; only http(s) and mailto links to public sources may`);
        }
        continue;
      }
      const hash = target.indexOf('#');
      const pathPart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
      const anchor = hash === -1 ? null : decodeURIComponent(target.slice(hash + 1));
      if (pathPart.startsWith('/')) {
        report(`an absolute path; use a path relative to ${file}`);
        continue;
      }
      const dest = pathPart === '' ? full : resolve(dirname(full), pathPart);
      if (!inside(root, dest)) {
        report(`leaves the repository (resolves to ${dest})`);
        continue;
      }
      if (!existsSync(dest)) {
        report(`no such file or folder (${relative(root, dest).split(sep).join('/')})`);
        continue;
      }
      if (!inside(root, realpathSync(dest))) {
        report(`a symbolic link that leaves the repository`);
        continue;
      }
      if (anchor !== null && anchor !== '') {
        if (!dest.endsWith('.md') || !statSync(dest).isFile()) {
          report(`an anchor into something that is not a Markdown file`);
        } else if (!anchors(dest).has(anchor)) {
          report(`no heading with the id '${anchor}' in ${relative(root, dest).split(sep).join('/')}`);
        }
      }
    }
    found.sort((a, b) => a[0] - b[0]);
    for (const [, message] of found) problems.push(message);
  }
  return { files, count, problems };
}

function main(argv) {
  let root = join(dirname(fileURLToPath(import.meta.url)), '..');
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--root' && argv[i + 1]) root = argv[++i];
    else {
      process.stderr.write(`check-links: unknown argument '${argv[i]}' (usage: node scripts/check-links.mjs [--root DIR])\n`);
      return 2;
    }
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    process.stderr.write(`check-links: --root ${root}: not a folder\n`);
    return 2;
  }
  const { files, count, problems } = checkLinks(root);
  for (const p of problems) process.stderr.write(`${p}\n`);
  if (problems.length) {
    process.stderr.write(`check-links: ${problems.length} problem(s) in ${files.length} file(s)\n`);
    return 1;
  }
  process.stdout.write(`check-links: ${count} links in ${files.length} files, all inside the repository or public, all resolve\n`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
