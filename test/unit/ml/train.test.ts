import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { learningRateAt } from '../../../ml/optim.js';
import { perSampleGradFeatures } from '../../../ml/persample.js';
import { readTrainProgress } from '../../../ml/train/state.js';
import { computeRefLogps, dpoBatchLoss, encodePairs, trainDpo, type DpoConfig } from '../../../ml/train/dpo.js';
import { trainSft } from '../../../ml/train/sft.js';
import { getTokenizer } from '../../../ml/tokenizer.js';
import { PAIRS, maxAbsDiff, microModel, useBackend } from './_helpers.js';

await useBackend();
const tok = getTokenizer('byte');

const CORPUS = [
  { prompt: 'Q: color of sky? A:', response: ' blue' },
  { prompt: 'Q: 2+2? A:', response: ' four' },
  { prompt: 'Q: capital of France? A:', response: ' Paris' },
  { prompt: 'Q: opposite of hot? A:', response: ' cold' },
];

function weightsOf(model: ReturnType<typeof microModel>): Float32Array[] {
  return [...model.params.values()].map((v) => v.dataSync() as Float32Array);
}

test('SFT on a tiny corpus reaches near-zero loss (response tokens only)', async () => {
  const model = microModel(31);
  const losses: number[] = [];
  const r = await trainSft({
    model,
    examples: CORPUS,
    config: {
      maxSteps: 200,
      batchSize: 4,
      learningRate: 1e-2,
      warmupSteps: 10,
      lrSchedule: 'cosine',
      weightDecay: 0.01,
    },
    onStep: (m) => void losses.push(m.loss!),
  });
  r.dispose();
  assert.ok(losses[0]! > 4, `initial loss ${losses[0]} should be ~ln(258)`);
  assert.ok(losses.at(-1)! < 0.05, `final loss ${losses.at(-1)}`);
  model.dispose();
});

test('interrupted + resumed training is bit-identical to a straight run (SFT and DPO)', async () => {
  for (const kind of ['sft', 'dpo'] as const) {
    const config: DpoConfig = {
      seed: 4,
      maxSteps: 8,
      batchSize: 2,
      gradAccumSteps: 2,
      learningRate: 5e-3,
      warmupSteps: 2,
      lrSchedule: 'cosine',
      weightDecay: 0.1,
      maxGradNorm: 0.5,
      beta: 0.2,
    };
    const ref = computeRefLogps(microModel(40), PAIRS);
    const run = (model: ReturnType<typeof microModel>, extra: Record<string, unknown>) =>
      kind === 'sft'
        ? trainSft({ model, examples: CORPUS, config, ...extra })
        : trainDpo({ policy: model, pairs: PAIRS, refLogps: ref, config, ...extra });

    const straight = microModel(40);
    const metricsA: number[] = [];
    (await run(straight, { onStep: (m: Record<string, number>) => void metricsA.push(m.loss!) })).dispose();

    const first = microModel(40);
    let saved: Uint8Array | null = null;
    const r1 = await run(first, {
      shouldCheckpoint: (s: number) => s === 3,
      onCheckpoint: (b: Uint8Array) => void (saved = b),
      shouldStop: (s: number) => s === 3,
    });
    assert.equal(r1.step, 3);
    assert.equal(r1.done, false);
    r1.dispose();
    first.dispose();
    assert.ok(saved);
    assert.equal(readTrainProgress(saved!).step, 3);

    // A fresh process would start from different weights; the state must override them.
    const resumed = microModel(99);
    const metricsB: number[] = [];
    const r2 = await run(resumed, { state: saved, onStep: (m: Record<string, number>) => void metricsB.push(m.loss!) });
    assert.equal(r2.step, 8);
    assert.equal(r2.done, true);
    r2.dispose();
    assert.deepEqual(metricsB, metricsA.slice(3), `${kind}: losses after resume`);
    const a = weightsOf(straight);
    const b = weightsOf(resumed);
    a.forEach((w, i) => assert.equal(maxAbsDiff(w, b[i]!), 0, `${kind}: parameter ${i} differs`));
    straight.dispose();
    resumed.dispose();
  }
});

test('DPO raises reward accuracy and margins and reports TRL metrics', async () => {
  const policy = microModel(50);
  const ref = computeRefLogps(policy, PAIRS);
  const seen: Record<string, number>[] = [];
  for (const lossType of ['sigmoid', 'ipo', 'hinge', 'robust'] as const) {
    const p = policy.clone();
    seen.length = 0;
    const r = await trainDpo({
      policy: p,
      pairs: PAIRS,
      refLogps: ref,
      config: {
        maxSteps: 30,
        batchSize: 4,
        learningRate: 5e-3,
        beta: 0.5,
        lossType,
        labelSmoothing: lossType === 'robust' ? 0.1 : 0,
      },
      onStep: (m) => void seen.push(m),
    });
    r.dispose();
    const last = seen.at(-1)!;
    for (const k of [
      'loss',
      'grad_norm',
      'learning_rate',
      'rewards/chosen',
      'rewards/rejected',
      'rewards/accuracies',
      'rewards/margins',
      'logps/chosen',
      'logps/rejected',
    ])
      assert.ok(Number.isFinite(last[k]), `${lossType}: ${k}`);
    assert.equal(last['rewards/accuracies'], 1, lossType);
    assert.ok(last['rewards/margins']! > 0, lossType);
    assert.ok(last.loss! < seen[0]!.loss!, `${lossType}: loss ${seen[0]!.loss} -> ${last.loss}`);
    p.dispose();
  }
  policy.dispose();
});

test('per-sample gradient features average to the batch gradient', () => {
  const model = microModel(60);
  const ref = computeRefLogps(microModel(61), PAIRS);
  const filter = /^transformer\.(h\.1\.mlp\.c_proj|ln_f)\./;
  const { names, dim, features } = perSampleGradFeatures(model, PAIRS, ref, { paramFilter: filter, beta: 0.3 });
  assert.deepEqual(names, [
    'transformer.h.1.mlp.c_proj.weight',
    'transformer.h.1.mlp.c_proj.bias',
    'transformer.ln_f.weight',
    'transformer.ln_f.bias',
  ]);
  assert.equal(dim, 64 * 16 + 16 + 16 + 16);
  assert.equal(features.length, PAIRS.length);
  const enc = encodePairs(tok, PAIRS, 64);
  const vars = names.map((n) => model.p(n));
  const batch = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () =>
        dpoBatchLoss(model, enc, ref, [0, 1, 2, 3], { beta: 0.3, lossType: 'sigmoid', labelSmoothing: 0 }, tok.padId)
          .loss,
      vars,
    );
    value.dispose();
    return tf.concat(vars.map((v) => grads[v.name]!.reshape([-1]))).dataSync() as Float32Array;
  });
  const mean = new Float32Array(dim);
  for (const f of features) for (let i = 0; i < dim; i++) mean[i]! += f[i]! / features.length;
  assert.ok(maxAbsDiff(mean, batch) < 1e-5, `max diff ${maxAbsDiff(mean, batch)}`);
  assert.ok(maxAbsDiff(features[0]!, features[1]!) > 0);
  model.dispose();
});

test('gradient accumulation of 2×2 matches one batch of 4', async () => {
  const a = microModel(70);
  const b = microModel(70);
  const base = { maxSteps: 1, learningRate: 1e-3, maxGradNorm: 0 };
  const ga: number[] = [];
  const gb: number[] = [];
  (
    await trainSft({
      model: a,
      examples: CORPUS,
      config: { ...base, batchSize: 4 },
      onStep: (m) => void ga.push(m.grad_norm!),
    })
  ).dispose();
  (
    await trainSft({
      model: b,
      examples: CORPUS,
      config: { ...base, batchSize: 2, gradAccumSteps: 2 },
      onStep: (m) => void gb.push(m.grad_norm!),
    })
  ).dispose();
  // Token-mean per micro-batch vs per batch differ slightly when micro-batches have different token counts.
  assert.ok(Math.abs(ga[0]! - gb[0]!) / ga[0]! < 0.2, `${ga[0]} vs ${gb[0]}`);
  a.dispose();
  b.dispose();
});

test('learning-rate schedules follow transformers', () => {
  assert.equal(learningRateAt(0, 100, 1, 10, 'cosine'), 0);
  assert.equal(learningRateAt(5, 100, 1, 10, 'linear'), 0.5);
  assert.equal(learningRateAt(10, 100, 1, 10, 'cosine'), 1);
  assert.ok(Math.abs(learningRateAt(55, 100, 1, 10, 'cosine') - 0.5) < 1e-12);
  assert.ok(Math.abs(learningRateAt(55, 100, 1, 10, 'linear') - 0.5) < 1e-12);
  assert.equal(learningRateAt(50, 100, 2, 0, 'constant'), 2);
});
