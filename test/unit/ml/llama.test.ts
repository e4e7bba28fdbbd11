// The Llama-family decoder through the shared code: presets, KV cache,
// config refusals, SFT on conversations, DPO, gradient features, resume and
// export under Hugging Face names.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { deserializeModel, loadModel, serializeModel } from '../../../ml/model-files.js';
import { llamaConfigFromJson, llamaConfigToJson, makeLlamaConfig } from '../../../ml/llama-config.js';
import { LlamaModel } from '../../../ml/llama.js';
import { blockPrefix, initModelFromPreset, tokenizerOf, type CausalLM } from '../../../ml/model.js';
import { perSampleGradFeatures } from '../../../ml/persample.js';
import { parseSafetensors } from '../../../ml/safetensors.js';
import { generateTokens } from '../../../ml/sample.js';
import { getTokenizer } from '../../../ml/tokenizer.js';
import { computeRefLogps, trainDpo, type PreferencePair } from '../../../ml/train/dpo.js';
import { encodeSftExample, trainSft } from '../../../ml/train/sft.js';
import { encodeExample, encodeItem } from '../../../ml/data.js';
import { PAIRS, maxAbsDiff, useBackend } from './_helpers.js';

await useBackend();
const byte = getTokenizer('byte');
const here = path.dirname(fileURLToPath(import.meta.url));
const FIX = path.resolve(here, '../../../../test/fixtures/hf');

const logitsOf = (m: CausalLM, ids: number[][]) =>
  tf.tidy(() => m.forward(tf.tensor2d(ids, undefined, 'int32')).logits.dataSync());

test('presets: llama-micro / qwen2-micro / mistral-micro are seeded Llama-family models', () => {
  for (const [size, arch, bias] of [
    ['llama-micro', 'LlamaForCausalLM', false],
    ['qwen2-micro', 'Qwen2ForCausalLM', true],
    ['mistral-micro', 'MistralForCausalLM', false],
  ] as const) {
    const a = initModelFromPreset(size, byte, 3);
    const b = initModelFromPreset(size, byte, 3);
    assert.ok(a instanceof LlamaModel);
    assert.equal(a.config.architecture, arch);
    assert.equal(a.params.has('model.layers.0.self_attn.q_proj.bias'), bias);
    assert.equal(a.params.has('lm_head.weight'), size !== 'qwen2-micro');
    assert.equal(maxAbsDiff(logitsOf(a, [[1, 2, 3]]), logitsOf(b, [[1, 2, 3]])), 0);
    a.dispose();
    b.dispose();
  }
});

test('KV-cached greedy decoding equals full recomputation, with left padding and GQA (+ sliding window)', () => {
  const prompts = ['hi', 'a longer prompt here', 'xyz'];
  for (const over of [{}, { sliding_window: 6 }]) {
    const model = LlamaModel.init({ ...makeLlamaConfig('mistral-micro', 258), ...over }, 21, 'byte');
    const a = generateTokens(model, byte, prompts, { temperature: 0, maxNewTokens: 12, useCache: true });
    const b = generateTokens(model, byte, prompts, { temperature: 0, maxNewTokens: 12, useCache: false });
    assert.deepEqual(a.tokens, b.tokens);
    for (let i = 0; i < prompts.length; i++) {
      const solo = generateTokens(model, byte, [prompts[i]!], { temperature: 0, maxNewTokens: 12 });
      assert.deepEqual(solo.tokens[0], a.tokens[i], `row ${i} alone`);
    }
    model.dispose();
  }
});

test('config keys that change the math are implemented or refused by name', () => {
  const base = llamaConfigToJson(makeLlamaConfig('llama-micro', 258), 'byte');
  const refuse = (over: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => llamaConfigFromJson({ ...base, ...over }), re);
  refuse({ rope_scaling: { rope_type: 'dynamic', factor: 8 } }, /rope_scaling\.rope_type "dynamic" is not supported/);
  refuse({ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /rope_scaling\.low_freq_factor must be a number/);
  refuse({ rope_parameters: { rope_type: 'yarn', rope_theta: 1e4 } }, /rope_parameters\.rope_type "yarn"/);
  refuse({ hidden_act: 'gelu' }, /hidden_act "gelu"/);
  refuse({ partial_rotary_factor: 0.5 }, /partial_rotary_factor/);
  refuse({ num_key_value_heads: 3 }, /not a multiple of num_key_value_heads 3/);
  refuse({ architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', use_sliding_window: true }, /use_sliding_window/);
  refuse({ architectures: ['GemmaForCausalLM'], model_type: 'gemma' }, /not a Llama-family causal LM/);
  // Implemented: rope_theta from either spelling, head_dim, GQA, biases, tie, sliding window.
  const v5 = llamaConfigFromJson({
    ...base,
    rope_theta: undefined,
    rope_parameters: { rope_type: 'default', rope_theta: 5e5 },
    head_dim: 12,
    attention_bias: true,
    mlp_bias: true,
    tie_word_embeddings: true,
  }).config;
  assert.deepEqual(
    [v5.rope_theta, v5.head_dim, v5.qkv_bias, v5.o_bias, v5.mlp_bias, v5.tie_word_embeddings],
    [5e5, 12, true, true, true, true],
  );
  const q = llamaConfigFromJson({ ...base, architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2' }).config;
  assert.deepEqual([q.qkv_bias, q.o_bias], [true, false]);
  const m = llamaConfigFromJson({
    ...base,
    architectures: ['MistralForCausalLM'],
    model_type: 'mistral',
    sliding_window: 4096,
  }).config;
  assert.equal(m.sliding_window, 4096);
  // Round trip through config.json.
  assert.deepEqual(llamaConfigFromJson(llamaConfigToJson(v5, 'byte')).config, {
    ...v5,
    bos_token_id: 256,
    eos_token_id: 256,
  });
});

test('a sliding window changes the logits past the window, not before it', () => {
  const cfg = makeLlamaConfig('mistral-micro', 258);
  const full = LlamaModel.init(cfg, 5, 'byte');
  const win = LlamaModel.fromArrays({ ...cfg, sliding_window: 3 }, full.toArrays(), 'byte');
  const ids = [[5, 6, 7, 8, 9, 10]];
  const a = logitsOf(full, ids);
  const b = logitsOf(win, ids);
  const V = cfg.vocab_size;
  assert.equal(maxAbsDiff(a.slice(0, 3 * V), b.slice(0, 3 * V)), 0);
  assert.ok(maxAbsDiff(a.slice(3 * V), b.slice(3 * V)) > 1e-4);
  full.dispose();
  win.dispose();
});

test('DPO on an imported Qwen2 model (own tokenizer, chat-templated prompts): loss changes, finite; exports back under HF names', async () => {
  const policy = await loadModel(path.join(FIX, 'qwen2-bpe'));
  const ref = policy.clone();
  const pairs: PreferencePair[] = [
    ...PAIRS,
    { prompt: '', messages: [{ role: 'user', content: 'Capital of France?' }], chosen: 'Paris.', rejected: 'Rome.' },
  ];
  const refLogps = computeRefLogps(ref, pairs);
  const losses: number[] = [];
  const r = await trainDpo({
    policy,
    pairs,
    refLogps,
    config: { maxSteps: 3, batchSize: 5, learningRate: 1e-2, beta: 0.5 },
    onStep: (m) => void losses.push(m.loss!),
  });
  r.dispose();
  assert.ok(losses.every(Number.isFinite), String(losses));
  assert.ok(Math.abs(losses[0]! - Math.log(2)) < 1e-3, `first DPO loss ${losses[0]} is ln 2 (policy = reference)`);
  assert.ok(losses[2]! < losses[0]!, `loss went ${losses}`);

  const { files } = serializeModel(policy);
  const names = [...parseSafetensors(files['model.safetensors']!).tensors.keys()];
  assert.ok(
    names.includes('model.embed_tokens.weight') &&
      names.includes('model.layers.1.self_attn.q_proj.bias') &&
      names.includes('model.norm.weight'),
  );
  assert.ok(!names.includes('lm_head.weight'), 'tied head: no lm_head.weight, as transformers writes it');
  assert.ok(files['tokenizer.json'] && files['chat_template.jinja'], 'the tokenizer travels with the checkpoint');
  const cfg = JSON.parse(new TextDecoder().decode(files['config.json']));
  assert.deepEqual(cfg.architectures, ['Qwen2ForCausalLM']);
  const back = deserializeModel(files);
  assert.equal(maxAbsDiff(logitsOf(back, [[3, 4, 5]]), logitsOf(policy, [[3, 4, 5]])), 0);
  assert.deepEqual(tokenizerOf(back).tokenize('Hello world!'), tokenizerOf(policy).tokenize('Hello world!'));
  for (const m of [policy, ref, back]) m.dispose();
});

test('conversations: a tokenizer with a chat template renders messages; byte/gpt2 keep the text', async () => {
  const messages = [{ role: 'user', content: 'Hi' }];
  const item = { prompt: 'User: Hi\nAssistant: ', messages };
  assert.deepEqual(encodeItem(byte, item, 'Hello', 64), encodeExample(byte, item.prompt, 'Hello', 64));
  assert.deepEqual(
    encodeSftExample(byte, { ...item, response: 'Hello' }, 64),
    encodeExample(byte, item.prompt, 'Hello', 64),
  );
  const m = await loadModel(path.join(FIX, 'qwen2-bpe'));
  const q = tokenizerOf(m);
  const e = encodeItem(q, item, 'Hello', 64);
  assert.equal(
    q.detokenize(e.ids.slice(0, e.promptLen)),
    'user\nHi\nassistant\n',
    'ChatML prompt (special tokens dropped when decoding)',
  );
  // The template closes the turn (<|im_end|> = EOS); no second EOS is appended.
  assert.equal(e.ids.slice(e.promptLen).filter((t) => t === q.eosId).length, 1);
  assert.equal(q.detokenize(e.ids.slice(e.promptLen)).trim(), 'Hello');
  m.dispose();
});

test('SFT on conversations trains the assistant turns; resume is bit-identical; gradient features use the last block', async () => {
  const examples = [
    {
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Bye' },
        { role: 'assistant', content: 'Goodbye.' },
      ],
    },
    { prompt: 'The quick brown', response: ' fox' },
  ];
  const config = { seed: 2, maxSteps: 4, batchSize: 2, learningRate: 5e-3 };
  const load = () => loadModel(path.join(FIX, 'llama2-sp'));
  const straight = await load();
  const la: number[] = [];
  (await trainSft({ model: straight, examples, config, onStep: (m) => void la.push(m.loss!) })).dispose();
  assert.ok(la.every(Number.isFinite) && la[3]! < la[0]!, String(la));

  const first = await load();
  let saved: Uint8Array | null = null;
  (
    await trainSft({
      model: first,
      examples,
      config,
      shouldCheckpoint: (s) => s === 2,
      onCheckpoint: (b) => void (saved = b),
      shouldStop: (s) => s === 2,
    })
  ).dispose();
  const resumed = await load();
  (await trainSft({ model: resumed, examples, config, state: saved! })).dispose();
  assert.equal(maxAbsDiff(logitsOf(straight, [[1, 5, 9]]), logitsOf(resumed, [[1, 5, 9]])), 0);

  const last = blockPrefix(straight, straight.config.n_layer - 1);
  assert.equal(last, 'model.layers.1.');
  const refLogps = computeRefLogps(first, PAIRS);
  const g = perSampleGradFeatures(straight, PAIRS, refLogps, { paramFilter: last });
  assert.equal(g.features.length, PAIRS.length);
  assert.ok(g.names.every((n) => n.startsWith(last)) && g.dim > 0);
  assert.ok(g.features.every((f) => f.every(Number.isFinite)) && g.features[0]!.some((x) => x !== 0));
  for (const m of [straight, first, resumed]) m.dispose();
});
