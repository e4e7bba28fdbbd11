import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../ml/backend.js';
import { useFastWasmMatMul } from '../../../ml/wasm-matmul.js';
import { Rng } from '../../../ml/rng.js';
import { useBackend } from './_helpers.js';

// Plain float64 reference: out[b] = op(A[b]) · op(B[b]), batch dims broadcast when one side has none.
function reference(a: tf.Tensor, b: tf.Tensor, tA: boolean, tB: boolean): { data: Float64Array; shape: number[] } {
  const av = a.dataSync();
  const bv = b.dataSync();
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = tA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const K = tA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const N = tB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const bA = a.size / (M * K);
  const bB = b.size / (K * N);
  const batch = Math.max(bA, bB);
  const out = new Float64Array(batch * M * N);
  for (let n = 0; n < batch; n++) {
    const ao = (bA === 1 ? 0 : n) * M * K;
    const bo = (bB === 1 ? 0 : n) * K * N;
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++)
          s += av[ao + (tA ? k * M + i : i * K + k)]! * bv[bo + (tB ? j * K + k : k * N + j)]!;
        out[n * M * N + i * N + j] = s;
      }
  }
  const outer = (bA >= bB ? a.shape : b.shape).slice(0, -2);
  return { data: out, shape: [...outer, M, N] };
}

function randn(shape: number[], seed: number): tf.Tensor {
  const d = new Float32Array(shape.reduce((x, y) => x * y, 1));
  new Rng(seed).fillNormal(d, 1);
  return tf.tensor(d, shape);
}

const CASES: { a: number[]; b: number[]; tA: boolean; tB: boolean }[] = [
  { a: [7, 13], b: [13, 5], tA: false, tB: false },
  { a: [7, 13], b: [5, 13], tA: false, tB: true },
  { a: [13, 7], b: [13, 5], tA: true, tB: false },
  { a: [13, 7], b: [5, 13], tA: true, tB: true },
  { a: [6, 9, 4], b: [6, 4, 11], tA: false, tB: false },
  { a: [6, 9, 4], b: [6, 11, 4], tA: false, tB: true },
  { a: [6, 4, 9], b: [6, 4, 11], tA: true, tB: false },
  { a: [2, 3, 9, 4], b: [2, 3, 11, 4], tA: false, tB: true },
  { a: [6, 9, 4], b: [4, 11], tA: false, tB: false },
  { a: [9, 4], b: [6, 11, 4], tA: false, tB: true },
  { a: [1, 33, 17], b: [1, 17, 33], tA: true, tB: true },
];

test('fast wasm matMul equals a float64 reference for transposed, batched and broadcast operands', async () => {
  await selectBackend('wasm');
  try {
    CASES.forEach((c, n) => {
      const a = randn(c.a, 2 * n + 1);
      const b = randn(c.b, 2 * n + 2);
      const want = reference(a, b, c.tA, c.tB);
      for (const fast of [true, false]) {
        useFastWasmMatMul(fast);
        const before = tf.memory();
        const got = tf.matMul(a, b, c.tA, c.tB);
        const label = `${JSON.stringify(c)} ${fast ? 'fast' : 'stock'}`;
        assert.deepEqual(got.shape, want.shape, label);
        const g = got.dataSync();
        for (let i = 0; i < g.length; i++)
          assert.ok(
            Math.abs(g[i]! - want.data[i]!) < 1e-4 * (1 + Math.abs(want.data[i]!)),
            `${label}[${i}]: ${g[i]} vs ${want.data[i]}`,
          );
        got.dispose();
        // Transposed copies and per-batch views are released with the call.
        assert.equal(tf.memory().numTensors, before.numTensors, label);
        assert.equal(tf.memory().numBytes, before.numBytes, label);
      }
      tf.dispose([a, b]);
    });
  } finally {
    useFastWasmMatMul(true);
    await useBackend();
  }
});

test('fast wasm matMul gives the stock gradients', async () => {
  await selectBackend('wasm');
  try {
    const a = randn([3, 8, 5], 11);
    const b = randn([3, 6, 5], 12);
    const f = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, false, true)));
    const gradsWith = (fast: boolean) => {
      useFastWasmMatMul(fast);
      return tf.tidy(() =>
        tf
          .grads(f)([a, b])
          .map((g) => g.dataSync() as Float32Array),
      );
    };
    const fast = gradsWith(true);
    const stock = gradsWith(false);
    for (let k = 0; k < 2; k++) {
      const scale = Math.max(...stock[k]!.map(Math.abs));
      fast[k]!.forEach((v, i) =>
        assert.ok(Math.abs(v - stock[k]![i]!) < 1e-5 * scale, `grad ${k}[${i}]: ${v} vs ${stock[k]![i]}`),
      );
    }
    tf.dispose([a, b]);
  } finally {
    useFastWasmMatMul(true);
    await useBackend();
  }
});
