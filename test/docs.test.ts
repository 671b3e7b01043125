// The doc comments cite docs/semantics.md: the page ships with the repository, and every section a
// comment cites exists there.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

test('every citation of semantics.md in src/ names docs/semantics.md and an existing section', () => {
  const page = readFileSync(join(root, 'docs', 'semantics.md'), 'utf8');
  const sections = new Set([...page.matchAll(/^## (\d+)\./gm)].map((m) => m[1]));
  assert.deepEqual([...sections], ['1', '2', '3', '4', '5', '6']);
  let citations = 0;
  for (const file of sources(join(root, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/([^\s(]*)semantics\.md,?\s*(?:sections?\s+)?(\d+)?/g)) {
      citations++;
      assert.equal(m[1], 'docs/', `${file}: cites ${m[0]}`);
      if (m[2] !== undefined) assert.ok(sections.has(m[2]), `${file}: section ${m[2]} of docs/semantics.md`);
    }
  }
  assert.ok(citations >= 4, `${citations} citations`);
});
