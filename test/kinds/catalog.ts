// Where the test kinds' catalog files live, and the environment that makes a worker
// (and the CLI's validate/run) know them: test/run.ts and bench/run.ts set it.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeCatalog } from '../../cli/write-catalog.js';
import { packageRoot } from '../../spec/package-root.js';
import { testBlock, testNoop, testShard, testTrain } from './kinds.js';

/** The engine's test kinds (noop, shard, block): the spec tests' catalog. */
export const testKindsDir = (): string => join(packageRoot(), 'test', 'fixtures', 'spec', 'steps');

/** test.train, kept apart so the spec tests' catalog stays small; the report and watch tests add it. */
export const reportKindsDir = (): string => join(packageRoot(), 'test', 'fixtures', 'report', 'steps');

export const testCatalogs = () => [
  { dir: testKindsDir(), kinds: [testNoop, testShard, testBlock] },
  { dir: reportKindsDir(), kinds: [testTrain] },
];

export function testKindsEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    BPOFLOW_KIND_MODULES: fileURLToPath(new URL('./index.js', import.meta.url)),
    BPOFLOW_CATALOG_PATH: [env.BPOFLOW_CATALOG_PATH, testKindsDir()].filter(Boolean).join(':'),
  };
}

// `npm run catalog` runs this after cli/write-catalog.js.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { dir, kinds } of testCatalogs()) writeCatalog(kinds, dir);
  console.log(
    `catalog: test kinds -> ${testCatalogs()
      .map((c) => c.dir)
      .join(', ')}`,
  );
}
