// The test command's core: starts a private stack (Temporal dev server + SeaweedFS)
// on free ports in a temporary directory, runs the unit and integration suites
// against it with node:test, and stops the stack even when tests fail.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, freePort, readCredentials, up } from '../infra/stack.js';
import { packageRoot } from '../spec/package-root.js';

const root = packageRoot();
const home = mkdtempSync(join(tmpdir(), 'bpoflow-test-'));
const patterns = process.argv.slice(2);
const files = patterns.length ? patterns : ['dist/test/unit/**/*.test.js', 'dist/test/integration/**/*.test.js'];

let code = 1;
const started = Date.now();
try {
  const { state } = await up({ home, ports: { temporal: await freePort(), ui: await freePort(), s3: await freePort() }, log: (l) => console.log(`[stack] ${l}`) });
  console.log(`[stack] up in ${Date.now() - started} ms: Temporal ${state.temporalAddress}, S3 ${state.s3Endpoint}, home ${home}`);
  const creds = readCredentials(home)!;
  const env = {
    ...process.env,
    BPOFLOW_HOME: home,
    TEMPORAL_ADDRESS: state.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    BPOFLOW_UI_URL: state.uiUrl,
    BPOFLOW_S3_ENDPOINT: creds.endpoint,
    BPOFLOW_S3_ACCESS_KEY: creds.accessKey,
    BPOFLOW_S3_SECRET_KEY: creds.secretKey,
    BPOFLOW_S3_BUCKET: creds.bucket,
    BPOFLOW_S3_REGION: creds.region,
    BPOFLOW_TEST_KINDS: '1',
    BPOFLOW_CATALOG_PATH: join(root, 'test', 'fixtures', 'spec', 'steps'),
  };
  const concurrency = process.env.BPOFLOW_TEST_CONCURRENCY ?? '2';
  code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { cwd: root, env, stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} catch (err) {
  console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await down({ home });
  if (code === 0) rmSync(home, { recursive: true, force: true });
  else console.log(`[stack] state and logs kept in ${home}`);
  console.log(`[test] finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
process.exit(code);
