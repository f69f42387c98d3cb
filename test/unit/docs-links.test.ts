import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The documentation's links hold: every relative link in README.md and docs/*.md names a file or
 * folder of this repository, and its #anchor a heading of the file it names. A link outside the
 * repository (a sibling folder of the clone, say) resolves on one machine and nowhere else.
 */

const ROOT = process.cwd();
const DOCS = [
  'README.md',
  ...readdirSync('docs')
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];

/** The file with fenced code blocks blanked (their `# comment` lines are not headings, their brackets not links). */
function prose(markdown: string): string {
  let fence: string | undefined;
  return markdown
    .split('\n')
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (marker && (fence === undefined || marker.startsWith(fence))) {
        fence = fence === undefined ? marker : undefined;
        return '';
      }
      return fence === undefined ? line : '';
    })
    .join('\n');
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2, … */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, text] of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const plain = (text ?? '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const slug = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** The targets of the file's inline links, `[text](target)`, outside code. */
function links(markdown: string): string[] {
  const text = prose(markdown).replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] ?? '');
}

/** What is wrong with one link of `file`, or undefined when it resolves. */
function problem(file: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return undefined; // https:, mailto: — not a file of ours
  const [path = '', anchor] = target.split('#', 2);
  const absolute = path === '' ? resolve(ROOT, file) : resolve(ROOT, dirname(file), decodeURIComponent(path));
  const inRepo = relative(ROOT, absolute);
  if (inRepo.startsWith('..') || resolve(ROOT, inRepo) !== absolute) return 'points outside the repository';
  if (!existsSync(absolute)) return `${inRepo} does not exist`;
  if (anchor === undefined) return undefined;
  if (!absolute.endsWith('.md') || statSync(absolute).isDirectory()) return `#${anchor} on ${inRepo}, which is not a markdown file`;
  if (!anchors(readFileSync(absolute, 'utf8')).has(anchor)) return `${inRepo} has no heading #${anchor}`;
  return undefined;
}

describe('the links of README.md and docs/*.md', () => {
  it('each relative link names a file of the repository, and each #anchor a heading of it', () => {
    const found = DOCS.flatMap((file) => links(readFileSync(join(ROOT, file), 'utf8')).map((target) => ({ file, target })));
    // Not vacuous: the docs link to each other, and to headings, in many places.
    expect(found.filter(({ target }) => target.includes('#')).length).toBeGreaterThan(20);
    const broken = found.flatMap(({ file, target }) => {
      const wrong = problem(file, target);
      return wrong === undefined ? [] : [`${file}: (${target}) ${wrong}`];
    });
    expect(broken).toEqual([]);
  });

  it('every docs/*.md page is in the index, docs/README.md', () => {
    const index = links(readFileSync('docs/README.md', 'utf8')).map((target) => target.split('#')[0]);
    const pages = DOCS.filter((file) => file.startsWith('docs/') && file !== 'docs/README.md').map((file) => file.slice('docs/'.length));
    expect(pages.filter((page) => !index.includes(page))).toEqual([]);
  });

  it('the checker itself: finds a missing file, a missing heading and a link out of the repository; skips code', () => {
    expect(problem('docs/README.md', 'no-such-page.md')).toBe('docs/no-such-page.md does not exist');
    expect(problem('docs/README.md', 'engine.md#no-such-heading')).toBe('docs/engine.md has no heading #no-such-heading');
    expect(problem('README.md', '../shared/design/ARCHITECTURE.md')).toBe('points outside the repository');
    expect(problem('docs/README.md', 'engine.md#where-things-are')).toBeUndefined();
    expect(problem('README.md', 'https://temporal.io')).toBeUndefined();
    expect(links('see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n')).toEqual(['a.md']);
    expect([
      ...anchors("## The ledger's two roles\n## Production: Temporal (`npm run cluster`, compose)\n## Tests\n## Tests\n```sh\n# a comment\n```"),
    ]).toEqual(['the-ledgers-two-roles', 'production-temporal-npm-run-cluster-compose', 'tests', 'tests-1']);
  });
});
