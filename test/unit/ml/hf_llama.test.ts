// Interop with transformers for the Llama family, without Python: the
// golden fixtures in test/fixtures/hf/ (written by llama_fixtures.py) hold
// random LlamaForCausalLM / Qwen2ForCausalLM / MistralForCausalLM folders
// with transformers' logits, greedy generations, tokenizations and rendered
// chat templates.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { chatPieces, encodeConversation, renderChat, type ChatMessage } from '../../../ml/chat.js';
import { loadModel } from '../../../ml/model-files.js';
import { HfTokenizer } from '../../../ml/hf-tokenizer.js';
import { LlamaModel } from '../../../ml/llama.js';
import { tokenizerOf } from '../../../ml/model.js';
import { generateTokens } from '../../../ml/sample.js';
import { maxAbsDiff, useBackend } from './_helpers.js';

const backend = await useBackend();
const here = path.dirname(fileURLToPath(import.meta.url));
export const HF_FIXTURES = path.resolve(here, '../../../../test/fixtures/hf');

interface Expected {
  architecture: string;
  logits: { ids: number[][]; shape: number[]; data: number[] };
  greedy: { prompt: number[]; new_tokens: number[] };
  tokenize: { text: string; ids: number[] }[];
  decode: { ids: number[]; text: string }[];
  chat: { messages: ChatMessage[]; text: string; text_gen: string; ids: number[] };
  special: { bos: string | null; eos: string | null; pad: string | null };
}

const FIXTURES: Record<string, { arch: string; note: string }> = {
  'llama2-sp': {
    arch: 'LlamaForCausalLM',
    note: 'SentencePiece-style BPE with byte fallback, untied head, zephyr template',
  },
  'llama3-bpe': {
    arch: 'LlamaForCausalLM',
    note: 'byte-level BPE, tied head, head_dim 12 ≠ 32/4, 1 kv head, attention + mlp bias, llama3 RoPE scaling',
  },
  'qwen2-bpe': { arch: 'Qwen2ForCausalLM', note: 'q/k/v bias, tied head, ChatML, no BOS' },
  'mistral-sp': {
    arch: 'MistralForCausalLM',
    note: 'sliding_window 5 < sequence, Metaspace tokenizer, [INST] template',
  },
};

const expected = (name: string): Expected =>
  JSON.parse(readFileSync(path.join(HF_FIXTURES, name, 'expected.json'), 'utf8')) as Expected;

for (const [name, { arch, note }] of Object.entries(FIXTURES)) {
  test(`${name} (${note}): logits within 1e-4 of transformers [${backend}]`, async () => {
    const e = expected(name);
    const model = await loadModel(path.join(HF_FIXTURES, name));
    try {
      assert.ok(model instanceof LlamaModel);
      assert.equal(model.config.architecture, arch);
      assert.equal(e.architecture, arch);
      const logits = tf.tidy(() => model.forward(tf.tensor2d(e.logits.ids, undefined, 'int32')).logits);
      assert.deepEqual(logits.shape, e.logits.shape);
      const err = maxAbsDiff(logits.dataSync(), e.logits.data);
      logits.dispose();
      // Printed so the figure per architecture and backend can be read off a run.
      console.log(`# ${name} ${backend} max-abs logit error ${err.toExponential(2)}`);
      assert.ok(err < 1e-4, `max abs logit error ${err}`);
    } finally {
      model.dispose();
    }
  });

  test(`${name}: greedy generation equals transformers', cached and uncached`, async () => {
    const e = expected(name);
    const model = await loadModel(path.join(HF_FIXTURES, name));
    try {
      const tok = tokenizerOf(model) as HfTokenizer;
      // The fixture's prompt is tokenizer("The quick brown"): BOS (if any) + text.
      assert.deepEqual([...tok.prefixIds, ...tok.tokenize('The quick brown')], e.greedy.prompt);
      for (const useCache of [true, false]) {
        const r = generateTokens(model, tok, ['The quick brown'], {
          temperature: 0,
          maxNewTokens: e.greedy.new_tokens.length,
          useCache,
        });
        assert.deepEqual(r.tokens[0], e.greedy.new_tokens, `useCache=${useCache}`);
      }
    } finally {
      model.dispose();
    }
  });

  test(`${name}: tokenizer.json ids, decoding, special tokens and chat template equal transformers'`, () => {
    const e = expected(name);
    const dir = path.join(HF_FIXTURES, name);
    const files: Record<string, Uint8Array> = {};
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'])
      files[f] = readFileSync(path.join(dir, f));
    const tok = new HfTokenizer(files);
    for (const t of e.tokenize) assert.deepEqual(tok.encode(t.text), t.ids, JSON.stringify(t.text));
    for (const d of e.decode) assert.equal(tok.detokenize(d.ids), d.text);
    assert.equal(tok.bosToken ?? null, e.special.bos);
    assert.equal(tok.eosToken ?? null, e.special.eos);
    assert.equal(tok.padId, e.special.pad === null ? tok.eosId : tok.tokenToId(e.special.pad));
    assert.equal(renderChat(tok, e.chat.messages), e.chat.text);
    assert.equal(renderChat(tok, e.chat.messages.slice(0, -1), { addGenerationPrompt: true }), e.chat.text_gen);
    // Turn-by-turn tokenization (for the assistant mask) gives the same ids as the whole text.
    const enc = encodeConversation(tok, e.chat.messages, 10_000);
    assert.deepEqual(enc.ids, e.chat.ids);
    // The loss covers exactly the assistant replies and their end-of-turn text.
    const trained = enc.ids.filter((_, i) => enc.lossMask![i] === 1);
    const assistantText = chatPieces(tok, e.chat.messages)
      .filter((p) => p.assistant)
      .map((p) => p.text);
    assert.equal(assistantText.length, 2);
    assert.ok(
      assistantText[0]!.includes('4.') && assistantText[1]!.includes('6, of course.'),
      JSON.stringify(assistantText),
    );
    const trainedText = tok.detokenize(trained);
    assert.ok(trainedText.includes('4.') && trainedText.includes('6, of course.'), trainedText);
    for (const notTrained of ['You are brief', 'What is', 'And 3+3'])
      assert.ok(!trainedText.includes(notTrained), `${notTrained} is not trained on`);
    // The turn's end token (EOS in all four templates) is trained on, so the model learns to stop.
    assert.equal(trained.filter((t) => t === tok.eosId).length, 2);
  });
}

test('older folder layouts: special tokens from special_tokens_map.json (AddedToken objects), chat_template inside tokenizer_config.json', () => {
  const dir = path.join(HF_FIXTURES, 'qwen2-bpe');
  const e = expected('qwen2-bpe');
  const enc = new TextEncoder();
  const tok = new HfTokenizer({
    'tokenizer.json': readFileSync(path.join(dir, 'tokenizer.json')),
    'tokenizer_config.json': enc.encode(
      JSON.stringify({ chat_template: readFileSync(path.join(dir, 'chat_template.jinja'), 'utf8') }),
    ),
    'special_tokens_map.json': enc.encode(
      JSON.stringify({ eos_token: { content: '<|im_end|>', lstrip: false }, pad_token: '<|endoftext|>' }),
    ),
  });
  assert.equal(tok.eosToken, '<|im_end|>');
  assert.equal(tok.eosId, tok.tokenToId('<|im_end|>'));
  assert.equal(tok.padId, tok.tokenToId('<|endoftext|>'));
  assert.equal(renderChat(tok, e.chat.messages), e.chat.text);
  // No EOS anywhere is an error that says where to put one.
  assert.throws(
    () => new HfTokenizer({ 'tokenizer.json': readFileSync(path.join(dir, 'tokenizer.json')) }),
    /no eos_token \(tokenizer_config\.json\) and config\.json has no eos_token_id/,
  );
  // config.json's eos_token_id is the fallback.
  assert.equal(
    new HfTokenizer({ 'tokenizer.json': readFileSync(path.join(dir, 'tokenizer.json')) }, { eos_token_id: [2, 1] })
      .eosId,
    2,
  );
});
