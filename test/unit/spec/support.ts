import { compile, type CompileOptions } from '../../../spec/compile.js';
import { Catalog, loadCatalog } from '../../../spec/catalog.js';
import { testKindsDir } from '../../kinds/catalog.js';
import { formatProblem } from '../../../spec/problem.js';

let catalog: Catalog | undefined;

/** Only the test kinds: tests must not break when the production catalog evolves. */
export function testCatalog(): Catalog {
  return (catalog ??= loadCatalog(testKindsDir()));
}

/** A valid document header; tests append their `steps:` etc. Occupies lines 1-4. */
export const HEADER = ['apiVersion: bpoflow/v1', 'kind: Pipeline', 'metadata:', '  name: t'];

export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

/** The `file:line:col: message` lines compile reports for `text`, as the CLI prints them. */
export function problemLines(text: string, opts: Partial<CompileOptions> = {}): string[] {
  const r = compile(text, { file: 'p.yaml', catalog: testCatalog(), checkLocalFiles: false, ...opts });
  return r.problems.map(formatProblem);
}

export function compileOk(text: string, opts: Partial<CompileOptions> = {}) {
  const r = compile(text, { file: 'p.yaml', catalog: testCatalog(), checkLocalFiles: false, ...opts });
  if (!r.plan) throw new Error(`expected a plan, got:\n${r.problems.map(formatProblem).join('\n')}`);
  return r.plan;
}
