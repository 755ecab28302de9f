/**
 * The single-node service never loads NATS: nothing dist/main.js imports statically reaches the
 * `nats` package (the cluster engine is a dynamic import, taken only with --cluster).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { distMain } from '../harness/paths.js';

/** Every file dist/main.js reaches by static imports, and every bare package they name. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    // Static forms only: `import … from "x"` and `import "x"`; `import("x")` is left out on purpose.
    for (const match of text.matchAll(/^\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/gm)) {
      const target = match[1]!;
      if (target.startsWith('.')) visit(join(dirname(file), target));
      else packages.add(target.split('/')[0]!.startsWith('@') ? target.split('/').slice(0, 2).join('/') : target.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('cluster isolation', () => {
  test('dist/main.js reaches no nats import without --cluster; the cluster engine chunk does', () => {
    const { files, packages } = staticGraph(distMain);
    assert.ok(files.size > 1, 'the graph was followed');
    assert.ok(packages.has('better-sqlite3') || packages.has('piscina'), `the walker sees packages: ${[...packages].join(', ')}`);
    assert.ok(!packages.has('nats'), `a static import of nats: ${[...files].join(', ')}`);
    const main = readFileSync(distMain, 'utf8') + [...files].map((file) => readFileSync(file, 'utf8')).join('');
    const dynamic = /import\(["'](\.\/engine-[^"']+)["']\)/.exec(main);
    assert.ok(dynamic, 'the cluster engine is a dynamic import');
    assert.ok(staticGraph(join(dirname(distMain), dynamic[1]!)).packages.has('nats'));
  });
});
