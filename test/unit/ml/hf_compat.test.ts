// Round-trip against Hugging Face transformers: a random HF GPT-2 saved as
// safetensors loads here with the same logits, and a model trained here
// loads in GPT2LMHeadModel with the same logits. Needs a Python with torch +
// transformers: $BPOFLOW_PYTHON, else ~/.cache/bpoflow/py/bin/python, else python3.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel } from '../../../ml/model-files.js';
import { trainSft } from '../../../ml/train/sft.js';
import { microModel, useBackend } from './_helpers.js';

await useBackend();

const here = path.dirname(fileURLToPath(import.meta.url));
// dist/test/unit/ml -> repo root
const script = path.resolve(here, '../../../../test/fixtures/ml/hf_logits.py');

function findPython(): { python: string | null; why: string } {
  const candidates = [
    process.env.BPOFLOW_PYTHON,
    path.join(os.homedir(), '.cache/bpoflow/py/bin/python'),
    'python3',
  ].filter(Boolean) as string[];
  for (const py of candidates) {
    if (py.includes('/') && !existsSync(py)) continue;
    try {
      execFileSync(py, ['-c', 'import torch, transformers'], { stdio: 'ignore', timeout: 120_000 });
      return { python: py, why: '' };
    } catch {
      /* try next */
    }
  }
  return { python: null, why: `no python with torch+transformers among ${candidates.join(', ')}` };
}

const { python, why } = findPython();
const IDS = [
  [72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100],
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 256],
];

function runPy(args: string[]): { shape: number[]; data: number[] } {
  const out = execFileSync(python!, [script, ...args], { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

function ourLogits(model: Awaited<ReturnType<typeof loadModel>>): Float32Array {
  return tf.tidy(
    () => model.forward(tf.tensor2d(IDS, [IDS.length, IDS[0]!.length], 'int32')).logits.dataSync() as Float32Array,
  );
}

function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: length`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  assert.ok(max < tol, `${what}: max |Δlogit| ${max} ≥ ${tol}`);
}

test('HF GPT2LMHeadModel → bpoflow: same logits', { skip: python ? false : why, timeout: 300_000 }, async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bpoflow-hf-'));
  try {
    const ref = runPy(['make', dir, '7', JSON.stringify(IDS)]);
    const model = await loadModel(dir);
    assert.equal(model.tokenizerName, 'byte');
    assertClose(ourLogits(model), ref.data, 1e-4, 'HF → ours');
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'bpoflow-trained model → HF GPT2LMHeadModel: same logits',
  { skip: python ? false : why, timeout: 300_000 },
  async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'bpoflow-hf-'));
    try {
      const model = microModel(13);
      // Train a little so LayerNorm/bias parameters are no longer at their init values.
      (
        await trainSft({
          model,
          examples: [{ prompt: 'Hi', response: ' there, friend' }],
          config: { maxSteps: 20, batchSize: 1, learningRate: 1e-2 },
        })
      ).dispose();
      await saveModel(model, dir);
      const theirs = runPy(['eval', dir, JSON.stringify(IDS)]);
      assert.deepEqual(theirs.shape, [2, 11, 258]);
      assertClose(ourLogits(model), theirs.data, 1e-4, 'ours → HF');
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
