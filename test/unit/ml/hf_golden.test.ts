// Interop against transformers without Python: test/fixtures/hf/gpt2/<variant>/
// are tiny random GPT2LMHeadModel folders saved by transformers with the
// logits and greedy generations it computes (test/fixtures/hf/make_fixtures.py).
// Each loads here with the same logits (1e-4) and the same greedy tokens, and
// each config key its variant sets is shown to matter: loading the folder
// with that key left at its default gives clearly different logits, so a key
// silently ignored would fail here.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { TANH_GELUS } from '../../../ml/activations.js';
import { deserializeModel, loadModel, serializeModel } from '../../../ml/model-files.js';
import type { Activation } from '../../../ml/config.js';
import type { CausalLM } from '../../../ml/model.js';
import { generateTokens } from '../../../ml/sample.js';
import type { Tokenizer } from '../../../ml/tokenizer.js';
import { maxAbsDiff, useBackend } from './_helpers.js';

const backend = await useBackend();
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../../test/fixtures/hf/gpt2');
const variants = readdirSync(root).sort();

interface Expected {
  input_ids: number[][];
  logits: { shape: number[]; data: number[] };
  greedy: { prompt: number[][]; max_new_tokens: number; sequences: number[][] };
  overrides: Record<string, unknown>;
}
const expectedOf = (v: string): Expected => JSON.parse(readFileSync(path.join(root, v, 'expected.json'), 'utf8'));

function logitsOf(model: CausalLM, ids: number[][]): Float32Array {
  const t = tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32');
  const { logits } = model.forward(t);
  const data = logits.dataSync() as Float32Array;
  tf.dispose([t, logits]);
  return data;
}

/** Token ids in, token ids out: the prompts are comma-separated ids, so generateTokens runs its real KV-cache path. */
const idTokenizer: Tokenizer = {
  name: 'byte',
  vocabSize: 0,
  eosId: -1, // transformers generated with eos_token_id=None
  padId: 0,
  tokenize: (s) => s.split(',').map(Number),
  detokenize: (ids) => Array.from(ids).join(','),
};

const errors: Record<string, number> = {};

for (const v of variants) {
  test(`gpt2/${v}: logits within 1e-4 of transformers, same greedy tokens (${backend})`, async () => {
    const exp = expectedOf(v);
    const model = await loadModel(path.join(root, v));
    try {
      const err = maxAbsDiff(logitsOf(model, exp.input_ids), exp.logits.data);
      errors[v] = err;
      assert.ok(err < 1e-4, `max |Δlogit| ${err}`);
      const g = generateTokens(
        model,
        idTokenizer,
        exp.greedy.prompt.map((p) => p.join(',')),
        { temperature: 0, maxNewTokens: exp.greedy.max_new_tokens },
      );
      assert.deepEqual(
        g.tokens,
        exp.greedy.sequences.map((s, i) => s.slice(exp.greedy.prompt[i]!.length)),
      );
    } finally {
      model.dispose();
    }
  });
}

// Keys whose default changes tensor shapes (n_inner, n_layer) cannot be
// "ignored" without failing to load; reorder_and_upcast_attn is a precision
// choice that is the same math in float32 (its fixture passing is the check),
// and the tanh-GELU names are the default's formula under other names.
const SHAPE_OR_INERT = new Set(['n_inner', 'n_layer', 'reorder_and_upcast_attn', 'torch_dtype']);
const sameAsDefault = (k: string, v: unknown) => k === 'activation_function' && TANH_GELUS.has(v as Activation);
const ignoredErrors: Record<string, number> = {};

for (const v of variants) {
  const o = expectedOf(v).overrides;
  const keys = Object.keys(o).filter((k) => !SHAPE_OR_INERT.has(k) && !sameAsDefault(k, o[k]));
  if (!keys.length) continue;
  test(`gpt2/${v}: leaving ${keys.join(', ')} at the default would be visibly wrong`, async () => {
    const exp = expectedOf(v);
    const files = serializeModel(await loadModel(path.join(root, v))).files;
    const cfg = JSON.parse(new TextDecoder().decode(files['config.json'])) as Record<string, unknown>;
    for (const k of keys) delete cfg[k];
    const wrong = deserializeModel({ ...files, 'config.json': new TextEncoder().encode(JSON.stringify(cfg)) });
    try {
      const err = maxAbsDiff(logitsOf(wrong, exp.input_ids), exp.logits.data);
      ignoredErrors[v] = err;
      // At least 5× the interop tolerance: the check above would catch it.
      assert.ok(err > 5e-4, `ignoring ${keys.join(', ')} changes logits by only ${err}`);
    } finally {
      wrong.dispose();
    }
  });
}

test('report: max |Δlogit| per variant', () => {
  const rows = Object.entries(errors).map(
    ([v, e]) =>
      `${v.padEnd(22)} ${e.toExponential(2)}  ${ignoredErrors[v] === undefined ? '' : `(key ignored: ${ignoredErrors[v]!.toExponential(2)})`}`,
  );
  process.stdout.write(
    `# gpt2 fixtures vs transformers, max |Δlogit| (${backend}):\n${rows.map((r) => `#   ${r}`).join('\n')}\n`,
  );
  assert.equal(rows.length, variants.length);
});

test('gpt2/untied: log-probs use lm_head.weight, and a DPO step trains it', async () => {
  const { logProbs } = await import('../../../ml/logprobs.js');
  const { computeRefLogps, trainDpo } = await import('../../../ml/train/dpo.js');
  // Token ids < 64 for the fixture's vocabulary: bytes folded into 2..63, EOS 1, PAD 0.
  const small: Tokenizer = {
    name: 'byte',
    vocabSize: 64,
    eosId: 1,
    padId: 0,
    tokenize: (s) => [...Buffer.from(s)].map((b) => 2 + (b % 62)),
    detokenize: () => '',
  };
  const policy = await loadModel(path.join(root, 'untied'));
  const ref = await loadModel(path.join(root, 'untied'));
  try {
    // Σ log p from the fused head (lmhead.ts) equals log-softmax of forward()'s logits.
    const [p, r] = [small.tokenize('ab'), [...small.tokenize('cd'), small.eosId]];
    const all = [...p, ...r];
    const t = tf.tensor2d([all], [1, all.length], 'int32');
    const logits = policy.forward(t).logits;
    const lsm = tf.logSoftmax(logits.squeeze([0]) as tf.Tensor2D).arraySync() as number[][];
    tf.dispose([t, logits]);
    const manual = r.reduce((s, id, i) => s + lsm[p.length - 1 + i]![id]!, 0);
    const fused = logProbs(policy, [{ prompt: 'ab', response: 'cd' }], { tokenizer: small }).sum[0]!;
    assert.ok(Math.abs(fused - manual) < 1e-4, `fused ${fused} vs forward ${manual}`);

    const head0 = policy.p('lm_head.weight').dataSync().slice();
    const pairs = [{ prompt: 'q', chosen: 'yes', rejected: 'no' }];
    const res = await trainDpo({
      policy,
      pairs,
      refLogps: computeRefLogps(ref, pairs, { tokenizer: small }),
      tokenizer: small,
      config: { maxSteps: 1, batchSize: 1, learningRate: 1e-2 },
    });
    res.dispose();
    assert.ok(maxAbsDiff(policy.p('lm_head.weight').dataSync(), head0) > 1e-4, 'lm_head.weight moved');
  } finally {
    policy.dispose();
    ref.dispose();
  }
});
