import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { modelGenerate, modelInfo, modelInit } from '../../../cli/local-model.js';
import { useBackend } from '../ml/_helpers.js';

await useBackend();

test('modelInit / modelInfo / modelGenerate on a local directory', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bpoflow-cli-'));
  try {
    const init = await modelInit({ size: 'tiny', tokenizer: 'byte', outDir: dir, seed: 3 });
    assert.ok(init.parameterCount > 800_000 && init.parameterCount < 1_200_000, String(init.parameterCount));
    const cfg = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8'));
    assert.equal(cfg.bpoflow_tokenizer, 'byte');
    const info = await modelInfo(dir);
    assert.equal(info.parameterCount, init.parameterCount);
    assert.equal(info.tokenizer, 'byte');
    assert.equal(info.config.n_layer, 4);
    const a = await modelGenerate(dir, 'Hello', { maxNewTokens: 8, seed: 1 });
    const b = await modelGenerate(dir, 'Hello', { maxNewTokens: 8, seed: 1 });
    assert.equal(typeof a, 'string');
    assert.equal(a, b);
    await assert.rejects(modelInit({ size: 'huge', outDir: dir }), /unknown model size "huge"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('GPT-2 BPE models save their tokenizer and generate text', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bpoflow-cli-'));
  try {
    const init = await modelInit({
      size: { n_layer: 1, n_head: 2, n_embd: 16, n_positions: 64 },
      tokenizer: 'gpt2',
      outDir: dir,
      seed: 1,
    });
    assert.equal(init.config.vocab_size, 50257);
    const info = await modelInfo(dir);
    assert.equal(info.tokenizer, 'gpt2');
    const text = await modelGenerate(dir, 'Hello world', { maxNewTokens: 5, seed: 2, topK: 40 });
    assert.equal(typeof text, 'string');
    assert.ok(text.length > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
