// Removes compiled files whose TypeScript source is gone (renamed or deleted): tsc builds
// incrementally and never deletes outputs, and `node --test dist/test/unit/` would still
// run a stale test. Part of `npm run build`, between tsc and the workflow bundle.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('..', import.meta.url));
const root = join(dist, '..');

function prune(dir: string): string[] {
  const removed: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      removed.push(...prune(path));
      continue;
    }
    const compiled = /^(.*)\.js(\.map)?$/.exec(relative(dist, path));
    // Only tsc's outputs: the workflow bundle sits beside them with no source of its own.
    if (!compiled || compiled[1] === 'workflow-bundle') continue;
    if (!existsSync(join(root, `${compiled[1]}.ts`))) {
      rmSync(path);
      removed.push(relative(root, path));
    }
  }
  return removed;
}

const removed = prune(dist);
if (removed.length) console.log(`removed ${removed.length} compiled file(s) without a source: ${removed.join(', ')}`);
