import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The directory holding package.json. Compiled code runs from dist/, which has no
 * copy of pipelines/ or the JSON catalog, so data files are always found from here.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return (cached = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`bpoflow: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
