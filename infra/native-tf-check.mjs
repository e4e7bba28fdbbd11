// `bash infra/native-tf.sh [--gpu] --link --check`: loads the linked native
// package from the project in the current directory (so it shares that
// project's @tensorflow/tfjs), runs a matMul and prints what it ran on.
// On a GPU host this is the check that the GPU build works (docs/deploy.md).
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const pkg = process.argv[2] ?? '@tensorflow/tfjs-node';
const require = createRequire(path.join(process.cwd(), 'package.json'));
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
let t = Date.now();
const tf = require('@tensorflow/tfjs');
require(pkg);
const loadMs = Date.now() - t;
if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but tf.setBackend('tensorflow') failed`);
const backend = tf.backend();
const gpuNames = () => {
  const dir = '/proc/driver/nvidia/gpus';
  if (!existsSync(dir)) return [];
  return readdirSync(dir).map(
    (d) => /Model:\s*(.+)/.exec(readFileSync(path.join(dir, d, 'information'), 'utf8'))?.[1]?.trim() ?? d,
  );
};
const device = backend.isUsingGpuDevice ? `GPU ${gpuNames().join(', ') || '(name unknown)'}` : 'CPU only';
const n = 1024;
const a = tf.randomNormal([n, n]);
const b = tf.randomNormal([n, n]);
await tf.matMul(a, b).data(); // warm-up (and, on a GPU, the PTX JIT)
const reps = 10;
t = performance.now();
let c;
for (let i = 0; i < reps; i++) {
  c?.dispose();
  c = tf.matMul(a, b);
}
await c.data(); // read outside tidy: only the result's sync is timed, not a walk over it
const gflops = (2 * n ** 3 * reps) / ((performance.now() - t) / 1000) / 1e9;
console.log(
  JSON.stringify({
    package: pkg,
    tfjs: tf.version.tfjs,
    backend: tf.getBackend(),
    device,
    loadMs,
    matMul1024GFlops: Math.round(gflops * 10) / 10,
  }),
);
