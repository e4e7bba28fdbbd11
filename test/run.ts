// The test command's core: starts a private stack (Temporal dev server + SeaweedFS)
// on free ports in a temporary directory, runs the unit and integration suites
// against it with node:test, and stops the stack even when tests fail.
// The ml unit tests run twice: on wasm with everything else, then on native
// TensorFlow (tfjs-node, linked by infra/setup.sh); that pass is reported as
// skipped, with the reason, where native TensorFlow doesn't load.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrivateStack, type PrivateStack } from '../infra/stack.js';
import { packageRoot } from '../spec/package-root.js';
import { testKindsEnv } from './kinds/catalog.js';

// The fast lane (`--fast`, `npm run test:fast`): the unit tests and the integration tests
// that take seconds, for local work. The whole suite (no arguments) is the README's and CI's.
const FAST_INTEGRATION = [
  'store',
  'store-checkpoints',
  'store-crash',
  'store-faults',
  'submit-concurrency',
  'pipeline',
  'data-import',
];
const FAST_LANE = ['dist/test/unit/', ...FAST_INTEGRATION.map((name) => `dist/test/integration/${name}.test.js`)];

const root = packageRoot();
const args = process.argv.slice(2);
const fast = args.includes('--fast');
const patterns = args.filter((a) => a !== '--fast');
if (fast && patterns.length) {
  console.error('[test] --fast runs its own list of files; give either --fast or files');
  process.exit(2);
}
const files = fast ? FAST_LANE : patterns.length ? patterns : ['dist/test/unit/', 'dist/test/integration/'];
const home = mkdtempSync(join(tmpdir(), 'bpoflow-test-'));
// The ml unit tests among the patterns, for the native pass.
const mlFiles = files.flatMap((f) =>
  /^(\.\/)?dist\/test\/unit\/?$/.test(f)
    ? ['dist/test/unit/ml/']
    : /^(\.\/)?dist\/test\/unit\/ml(\/|$)/.test(f)
      ? [f]
      : [],
);

/** Counts over every `node --test` pass, for the one closing line CI reads. */
const totals = { passed: 0, failed: 0, skipped: 0 };
let passes = 0;

/**
 * One `node --test` pass: the usual report on stdout, and a TAP copy in the state dir
 * whose top-level summary (`# pass N`, …) is added to `totals`.
 */
async function nodeTest(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const tap = join(home, `pass-${++passes}.tap`);
  const reporter = process.stdout.isTTY ? 'spec' : 'tap';
  const code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--test',
        `--test-reporter=${reporter}`,
        '--test-reporter-destination=stdout',
        '--test-reporter=tap',
        `--test-reporter-destination=${tap}`,
        ...args,
      ],
      { cwd: root, env, stdio: 'inherit' },
    );
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
  const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(summary)?.[1] ?? 0);
  totals.passed += count('pass');
  totals.failed += count('fail') + count('cancelled');
  totals.skipped += count('skipped') + count('todo');
  // A pass that crashed before its summary still counts as a failure.
  if (code !== 0 && !/^# fail [1-9]/m.test(summary) && !/^# cancelled [1-9]/m.test(summary)) totals.failed += 1;
  return code;
}

/** null when native TensorFlow loads here, else why not (one line). */
function nativeUnavailable(): Promise<string | null> {
  const probe = `const { selectBackend } = await import(${JSON.stringify(join(root, 'dist', 'ml', 'backend.js'))}); const r = await selectBackend('tensorflow'); console.log(JSON.stringify(r));`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', probe], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (c) => {
      try {
        const r = JSON.parse(out.trim().split('\n').at(-1) ?? '') as { name: string; reason: string };
        resolve(r.name === 'tensorflow' ? null : r.reason.replace(/; wasm.*$/, ''));
      } catch {
        resolve(`the backend probe exited ${c}: ${err.trim().split('\n').at(-1) ?? ''}`);
      }
    });
  });
}

let code = 1;
let stack: PrivateStack | undefined;
const started = Date.now();
try {
  stack = await startPrivateStack(home, (l) => console.log(`[stack] ${l}`));
  console.log(
    `[stack] up in ${Date.now() - started} ms: Temporal ${stack.state.temporalAddress}, S3 ${stack.state.s3Endpoint}, home ${home}`,
  );
  const env = { ...process.env, ...stack.env, ...testKindsEnv() };
  const concurrency = process.env.BPOFLOW_TEST_CONCURRENCY ?? '2';
  // Pass 1: everything; the ml unit tests on wasm (unless BPOFLOW_ML_BACKEND says otherwise).
  code = await nodeTest([`--test-concurrency=${concurrency}`, ...files], {
    ...env,
    BPOFLOW_ML_BACKEND: process.env.BPOFLOW_ML_BACKEND ?? 'wasm',
  });
  if (mlFiles.length && !process.env.BPOFLOW_ML_BACKEND) {
    // Pass 2: the ml unit tests again, on native TensorFlow.
    const why = await nativeUnavailable();
    if (why && process.env.BPOFLOW_TEST_NATIVE === '1') {
      // CI sets it: there the native pass is required, and a skip is a failure.
      console.log(`[test] ml unit tests on native TensorFlow: FAILED (BPOFLOW_TEST_NATIVE=1 but ${why})`);
      code = 1;
    } else if (why) console.log(`[test] ml unit tests on native TensorFlow: SKIPPED (${why})`);
    else {
      console.log(`[test] ml unit tests on native TensorFlow (${mlFiles.join(' ')}):`);
      const native = await nodeTest([`--test-concurrency=${concurrency}`, ...mlFiles], {
        ...env,
        BPOFLOW_ML_BACKEND: 'tensorflow',
      });
      console.log(`[test] ml unit tests on native TensorFlow: ${native === 0 ? 'passed' : `FAILED (exit ${native})`}`);
      if (code === 0) code = native;
    }
  }
} catch (err) {
  console.error(`[stack] ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await stack?.stop();
  if (code === 0) rmSync(home, { recursive: true, force: true });
  else console.log(`[stack] state and logs kept in ${home}`);
  console.log(`[test] finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // The closing line, over all passes (the native ml pass included); a failure outside the
  // tests (the stack did not start, a required pass could not run) counts as one.
  if (code !== 0 && totals.failed === 0) totals.failed = 1;
  console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
}
process.exit(code);
