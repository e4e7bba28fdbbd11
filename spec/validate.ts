import { readFileSync } from 'node:fs';
import type { Catalog } from './catalog.js';
import { compile } from './compile.js';
import type { Problem } from './problem.js';

export { formatProblem } from './problem.js';

/**
 * Problems in each file, as `bpoflow validate` reports them. Params without a default
 * are not errors here: validation happens before anyone chooses values. Files keep the
 * order they were given in; each file's problems are sorted by position.
 */
export function validateFiles(paths: string[], catalog: Catalog): Problem[] {
  const problems: Problem[] = [];
  for (const file of paths) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push({
        file,
        line: 1,
        col: 1,
        message: code === 'ENOENT' ? 'file not found' : `cannot read file: ${(e as Error).message}`,
      });
      continue;
    }
    problems.push(...compile(text, { file, catalog, requireParams: false }).problems);
  }
  return problems;
}
