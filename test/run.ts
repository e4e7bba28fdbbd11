// The test command's core: starts a private stack (Temporal dev server + SeaweedFS)
// on free ports in a temporary directory, runs the unit and integration suites
// against it with node:test, and stops the stack even when tests fail.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateStack, type PrivateStack } from '../infra/stack.js';
import { packageRoot } from '../spec/package-root.js';

const root = packageRoot();
const home = mkdtempSync(join(tmpdir(), 'bpoflow-test-'));
const patterns = process.argv.slice(2);
const files = patterns.length ? patterns : ['dist/test/unit/', 'dist/test/integration/'];

let code = 1;
let stack: PrivateStack | undefined;
const started = Date.now();
try {
  stack = await startPrivateStack(home, (l) => console.log(`[stack] ${l}`));
  console.log(`[stack] up in ${Date.now() - started} ms: Temporal ${stack.state.temporalAddress}, S3 ${stack.state.s3Endpoint}, home ${home}`);
  const env = { ...process.env, ...stack.env, BPOFLOW_TEST_KINDS: '1' };
  const concurrency = process.env.BPOFLOW_TEST_CONCURRENCY ?? '2';
  code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} catch (err) {
  console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await stack?.stop();
  if (code === 0) rmSync(home, { recursive: true, force: true });
  else console.log(`[stack] state and logs kept in ${home}`);
  console.log(`[test] finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
process.exit(code);
