import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { deserializeModel, loadModel, saveModel, serializeModel } from '../../../ml/model-files.js';
import { makeConfig } from '../../../ml/config.js';
import { countParams, paramSpecs } from '../../../ml/gpt2.js';
import { parseSafetensors, serializeSafetensors, type NamedTensor } from '../../../ml/safetensors.js';
import type { CausalLM } from '../../../ml/model.js';
import { computeRefLogps, dpoBatchLoss, encodePairs } from '../../../ml/train/dpo.js';
import { getTokenizer } from '../../../ml/tokenizer.js';
import { embedPrompts } from '../../../ml/embed.js';
import { PAIRS, maxAbsDiff, microModel, useBackend } from './_helpers.js';

await useBackend();
const tok = getTokenizer('byte');

function logitsOf(model: CausalLM, text = 'hello world'): Float32Array {
  const ids = tok.tokenize(text);
  return tf.tidy(() => model.forward(tf.tensor2d([ids], [1, ids.length], 'int32')).logits.dataSync() as Float32Array);
}

test('parameter names and counts follow HF GPT-2', () => {
  const names = paramSpecs(makeConfig('gpt2', 50257)).map((s) => s.name);
  assert.equal(names.length, 2 + 12 * 12 + 2);
  assert.ok(names.includes('transformer.h.11.attn.c_attn.weight'));
  assert.equal(countParams(makeConfig('gpt2', 50257)), 124_439_808); // GPT-2 small, as reported by HF
  const spec = paramSpecs(makeConfig('gpt2', 50257)).find((s) => s.name === 'transformer.h.0.attn.c_attn.weight')!;
  assert.deepEqual(spec.shape, [768, 2304]); // Conv1D [in, out]
});

test('seeded init is reproducible and GPT-2 scaled', () => {
  const a = microModel(7);
  const b = microModel(7);
  const c = microModel(8);
  assert.equal(maxAbsDiff(logitsOf(a), logitsOf(b)), 0);
  assert.ok(maxAbsDiff(logitsOf(a), logitsOf(c)) > 0);
  const w = a.p('transformer.h.0.mlp.c_proj.weight').dataSync() as Float32Array;
  const std = Math.sqrt(w.reduce((s: number, v: number) => s + v * v, 0) / w.length);
  assert.ok(Math.abs(std - 0.02 / Math.sqrt(4)) < 0.002, `residual std ${std}`);
  for (const m of [a, b, c]) m.dispose();
});

test('gradients match central finite differences', () => {
  // float64 would allow tighter bounds; in float32 a relative error of a
  // few percent on the largest-gradient coordinates is the honest bar.
  const model = microModel(5);
  const ref = computeRefLogps(microModel(6), PAIRS);
  const enc = encodePairs(tok, PAIRS, 64);
  // A large β scales the gradients up relative to float32 round-off in the loss.
  const cfg = { beta: 4, lossType: 'sigmoid' as const, labelSmoothing: 0 };
  const lossAt = () => tf.tidy(() => dpoBatchLoss(model, enc, ref, [0, 1, 2, 3], cfg, tok.padId).loss.dataSync()[0]!);
  const names = [
    'transformer.wte.weight',
    'transformer.wpe.weight',
    'transformer.h.0.ln_1.weight',
    'transformer.h.0.attn.c_attn.weight',
    'transformer.h.1.attn.c_proj.bias',
    'transformer.h.1.mlp.c_fc.weight',
    'transformer.ln_f.bias',
  ];
  const vars = names.map((n) => model.p(n));
  const grads = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => dpoBatchLoss(model, enc, ref, [0, 1, 2, 3], cfg, tok.padId).loss,
      vars,
    );
    value.dispose();
    return vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
  });
  const h = 1e-2;
  for (let k = 0; k < names.length; k++) {
    const g = grads[k]!;
    let idx = 0;
    for (let i = 1; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[idx]!)) idx = i;
    const v = vars[k]!;
    const orig = v.dataSync().slice() as Float32Array;
    const set = (delta: number) => {
      const d = orig.slice();
      d[idx]! += delta;
      tf.tidy(() => v.assign(tf.tensor(d, v.shape)));
    };
    set(h);
    const up = lossAt();
    set(-h);
    const down = lossAt();
    set(0);
    const fd = (up - down) / (2 * h);
    const rel = Math.abs(fd - g[idx]!) / Math.max(Math.abs(fd), Math.abs(g[idx]!));
    assert.ok(
      rel < 0.03 || Math.abs(fd - g[idx]!) < 2e-5,
      `${names[k]}[${idx}]: analytic ${g[idx]} vs numeric ${fd} (rel ${rel})`,
    );
  }
  model.dispose();
});

test('save then load gives identical logits (disk and in-memory)', async () => {
  const model = microModel(9);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bpoflow-ml-'));
  try {
    await saveModel(model, dir);
    const loaded = await loadModel(dir);
    assert.equal(loaded.tokenizerName, 'byte');
    assert.equal(maxAbsDiff(logitsOf(model), logitsOf(loaded)), 0);
    const mem = deserializeModel(serializeModel(model).files);
    assert.equal(maxAbsDiff(logitsOf(model), logitsOf(mem)), 0);
    const cfg = JSON.parse(new TextDecoder().decode(serializeModel(model).files['config.json']));
    assert.equal(cfg.model_type, 'gpt2');
    assert.equal(cfg.activation_function, 'gelu_new');
    assert.equal(cfg.bpoflow_tokenizer, 'byte');
    assert.equal(cfg.layer_norm_epsilon, 1e-5);
    // F16 checkpoints load too, with half-precision error.
    const half = deserializeModel(serializeModel(model, { dtype: 'F16' }).files);
    assert.ok(maxAbsDiff(logitsOf(model), logitsOf(half)) < 1e-2);
    for (const m of [loaded, mem, half]) m.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
    model.dispose();
  }
});

test('loads Hub-style files: no "transformer." prefix, lm_head and attn buffers present', () => {
  const model = microModel(10);
  const { files } = serializeModel(model);
  const t = parseSafetensors(files['model.safetensors']!).tensors;
  const hub = new Map<string, NamedTensor>();
  for (const [k, v] of t) hub.set(k.replace(/^transformer\./, ''), v);
  hub.set('lm_head.weight', t.get('transformer.wte.weight')!);
  hub.set('h.0.attn.bias', { shape: [1, 1, 2, 2], data: new Float32Array([1, 0, 1, 1]) });
  hub.set('h.0.attn.masked_bias', { shape: [], data: new Float32Array([-1e4]) });
  const loaded = deserializeModel({ ...files, 'model.safetensors': serializeSafetensors(hub) });
  assert.equal(maxAbsDiff(logitsOf(model), logitsOf(loaded)), 0);
  // A wrong shape is an error, not a silent reshape.
  hub.set('h.1.ln_1.weight', { shape: [3], data: new Float32Array(3) });
  assert.throws(
    () => deserializeModel({ ...files, 'model.safetensors': serializeSafetensors(hub) }),
    /h\.1\.ln_1\.weight: shape \[3\]/,
  );
  model.dispose();
  loaded.dispose();
});

test('prompt embeddings are mean-pooled and independent of batch padding', () => {
  const model = microModel(11);
  const [a1] = embedPrompts(model, tok, ['short']);
  const [a2, b2] = embedPrompts(model, tok, ['short', 'a much longer prompt here']);
  assert.equal(a1!.length, 16);
  assert.ok(maxAbsDiff(a1!, a2!) < 1e-5);
  assert.ok(maxAbsDiff(a2!, b2!) > 1e-3);
  model.dispose();
});
