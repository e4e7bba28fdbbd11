import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { dpoLosses, type DpoLossType } from '../../../ml/losses.js';
import { computeRefLogps, dpoBatchLoss, encodePairs } from '../../../ml/train/dpo.js';
import { getTokenizer } from '../../../ml/tokenizer.js';
import { PAIRS, microModel, useBackend } from './_helpers.js';

await useBackend();

const lnSig = (z: number) => -Math.log1p(Math.exp(-z));

function lossesOf(x: number[], type: DpoLossType, beta: number, eps = 0): number[] {
  return tf.tidy(() => Array.from(dpoLosses(tf.tensor1d(x), type, beta, eps).dataSync()));
}

test('hand-computed values for every loss type', () => {
  const x = [0.7, -1.3, 0];
  const beta = 0.5;
  const eps = 0.1;
  const expect: Record<DpoLossType, number[]> = {
    sigmoid: x.map((v) => -lnSig(beta * v) * (1 - eps) - lnSig(-beta * v) * eps),
    robust: x.map((v) => (-lnSig(beta * v) * (1 - eps) + lnSig(-beta * v) * eps) / (1 - 2 * eps)),
    hinge: x.map((v) => Math.max(0, 1 - beta * v)),
    ipo: x.map((v) => (v - 1 / (2 * beta)) ** 2),
  };
  // Spot values written out by hand: sigmoid(ε=0.1, βx=0.35) = 0.9·ln(1+e^-0.35) + 0.1·ln(1+e^0.35).
  assert.ok(
    Math.abs(expect.sigmoid[0]! - (0.9 * Math.log(1 + Math.exp(-0.35)) + 0.1 * Math.log(1 + Math.exp(0.35)))) < 1e-12,
  );
  assert.ok(Math.abs(expect.ipo[1]! - (-1.3 - 1) ** 2) < 1e-12); // 5.29
  assert.ok(Math.abs(expect.hinge[1]! - 1.65) < 1e-12);
  for (const type of Object.keys(expect) as DpoLossType[]) {
    const got = lossesOf(x, type, beta, type === 'hinge' || type === 'ipo' ? 0 : eps);
    got.forEach((g, i) =>
      assert.ok(Math.abs(g - expect[type][i]!) < 1e-5, `${type}[${i}]: ${g} vs ${expect[type][i]}`),
    );
  }
  // x = 0, ε = 0: sigmoid loss is ln 2.
  assert.ok(Math.abs(lossesOf([0], 'sigmoid', 0.1)[0]! - Math.LN2) < 1e-6);
});

test('DPO loss is ln 2 when the policy equals the reference', () => {
  const policy = microModel(3);
  const tok = getTokenizer('byte');
  const ref = computeRefLogps(policy, PAIRS);
  const enc = encodePairs(tok, PAIRS, 64);
  const cfg = { beta: 0.1, lossType: 'sigmoid' as const, labelSmoothing: 0 };
  const batch = (indices: number[], refs = ref) =>
    tf.tidy(() => {
      const { loss, metrics } = dpoBatchLoss(policy, enc, refs, indices, cfg, tok.padId);
      return { loss: loss.dataSync()[0]!, metrics };
    });
  // The reference log-probs came from other batch shapes, so the policy's equal
  // them only to float32 rounding (on TensorFlow a tie can differ in the last bit):
  // every reward is 0 within a tolerance far below one real log-prob step.
  const tol = 1e-5;
  const r = batch([0, 1, 2, 3]);
  assert.ok(Math.abs(r.loss - Math.LN2) < tol, `loss ${r.loss}`);
  for (const k of ['rewards/chosen', 'rewards/rejected', 'rewards/margins'])
    assert.ok(Math.abs(r.metrics[k]!) < tol, `${k} ${r.metrics[k]}`);
  for (const k of [
    'rewards/chosen',
    'rewards/rejected',
    'rewards/accuracies',
    'rewards/margins',
    'logps/chosen',
    'logps/rejected',
    'loss',
  ])
    assert.ok(k in r.metrics, k);
  for (let i = 0; i < PAIRS.length; i++) {
    const one = batch([i]);
    assert.ok(
      Math.abs(one.metrics['rewards/chosen']!) < tol && Math.abs(one.metrics['rewards/rejected']!) < tol,
      `pair ${i}: ${JSON.stringify(one.metrics)}`,
    );
    assert.ok(
      Math.abs(one.metrics['logps/chosen']! - ref.chosen[i]!) < 1e-4 * Math.max(1, Math.abs(ref.chosen[i]!)),
      `pair ${i}: logps/chosen vs reference`,
    );
  }
  // Accuracy counts chosen > rejected (TRL): a reference 1 nat lower on the chosen side of
  // pairs 0-2 and on the rejected side of pair 3 puts each pair's rewards β apart, clear of rounding.
  const shifted = {
    ...ref,
    chosen: ref.chosen.map((v, i) => (i < 3 ? v - 1 : v)),
    rejected: ref.rejected.map((v, i) => (i === 3 ? v - 1 : v)),
  };
  const s = batch([0, 1, 2, 3], shifted);
  assert.equal(s.metrics['rewards/accuracies'], 0.75);
  const near = (k: string, want: number) =>
    assert.ok(Math.abs(s.metrics[k]! - want) < tol, `${k} ${s.metrics[k]} vs ${want}`);
  near('rewards/chosen', 0.075);
  near('rewards/rejected', 0.025);
  near('rewards/margins', 0.05);
  const softplus = (z: number) => Math.log1p(Math.exp(z));
  assert.ok(Math.abs(s.loss - (3 * softplus(-0.1) + softplus(0.1)) / 4) < tol, `loss ${s.loss}`);
  // IPO at x = 0 is (1/(2β))².
  const ipo = tf.tidy(
    () =>
      dpoBatchLoss(
        policy,
        enc,
        ref,
        [0, 1],
        { beta: 0.1, lossType: 'ipo', labelSmoothing: 0 },
        tok.padId,
      ).loss.dataSync()[0]!,
  );
  assert.ok(Math.abs(ipo - 25) < 1e-3, `ipo ${ipo}`);
  policy.dispose();
});
