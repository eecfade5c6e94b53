/**
 * The README and the guide explain the repository with the repository alone: every relative
 * link reaches a file in it (and a heading, when it names one), and neither points readers to
 * documents they do not have.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The documents a user reads (docs/decisions.md, a record of decisions, is not checked for words). */
const DOCS = [
  'README.md',
  'docs/guide.md',
  'docs/architecture.md',
  'docs/internals.md',
  'docs/redis-backend.md',
  'docs/cli.md',
  'examples/shop/README.md',
  'examples/typed/README.md',
  'examples/cluster/README.md',
];

/** Markdown text without fenced code blocks (links and words in code are not prose). */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```\s*$/gm, '');
}

/** GitHub's anchor for a heading. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchors(file: string): Set<string> {
  const text = prose(readFileSync(file, 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)));
}

describe('user documentation links', () => {
  for (const doc of DOCS) {
    it(`${doc}: every relative link and anchor exists`, () => {
      const path = join(ROOT, doc);
      const text = prose(readFileSync(path, 'utf8'));
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
      for (const link of links) {
        if (/^[a-z]+:/.test(link)) continue; // https:, mailto:
        const [target, anchor] = link.split('#') as [string, string | undefined];
        const file = target === '' ? path : resolve(dirname(path), target);
        assert.ok(file.startsWith(ROOT), `${doc}: ${link} leaves the repository`);
        assert.ok(existsSync(file), `${doc}: ${link} does not exist`);
        if (anchor !== undefined && file.endsWith('.md')) {
          assert.ok(anchors(file).has(anchor), `${doc}: ${link}: no heading #${anchor}`);
        }
      }
    });

    it(`${doc}: points to no document the reader does not have`, () => {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      assert.doesNotMatch(text, /\bSPEC\b/);
      assert.doesNotMatch(text, /\bthe chapter\b|shared folder/i);
    });
  }

  it('slugs headings as GitHub does', () => {
    assert.equal(
      slug('Shared contracts in an app with several plugins'),
      'shared-contracts-in-an-app-with-several-plugins',
    );
    assert.equal(
      slug('Managing durable queues: `host.durable`'),
      'managing-durable-queues-hostdurable',
    );
  });
});
