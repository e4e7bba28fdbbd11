// Hugging Face folders in and out of a real store (SeaweedFS): `model import`
// uploads a transformers-saved folder as a model bundle that the model loader
// reads with transformers' logits; a DPO step on it and `model export` give a
// folder that loads back (and, where a Python with transformers exists, in
// transformers) with the trained model's logits; a folder pipeline input is
// uploaded as a model bundle.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { loadModelArtifact } from '../../activities/steps/model-io.js';
import { exportModel, importModelFolder } from '../../cli/model-import.js';
import { preparePlan } from '../../cli/run-commands.js';
import { loadModel, serializeModel } from '../../ml/model-files.js';
import { selectBackend } from '../../ml/backend.js';
import type { CausalLM } from '../../ml/model.js';
import { computeRefLogps, trainDpo } from '../../ml/train/dpo.js';
import { packageRoot } from '../../spec/package-root.js';
import type { ArtifactStore } from '../../store/artifacts.js';
import { integrationStore, uniqueRun } from '../fixtures/store/env.js';

const fixtures = path.join(packageRoot(), 'test', 'fixtures', 'hf', 'gpt2');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'bpoflow-import-'));
let store: ArtifactStore;
const run = uniqueRun('import');

before(async () => {
  await selectBackend(process.env.BPOFLOW_ML_BACKEND as 'wasm' | undefined);
  store = integrationStore();
  await store.ensureBucket();
});
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Expected {
  input_ids: number[][];
  logits: { data: number[] };
}
const expected = (v: string): Expected => JSON.parse(readFileSync(path.join(fixtures, v, 'expected.json'), 'utf8'));

function logitsOf(model: CausalLM, ids: number[][]): Float32Array {
  return tf.tidy(
    () => model.forward(tf.tensor2d(ids, [ids.length, ids[0]!.length], 'int32')).logits.dataSync() as Float32Array,
  );
}
function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('model import: a transformers folder becomes a model bundle that loads with its logits; importing again reuses it', async () => {
  for (const v of ['folder', 'sharded', 'untied']) {
    const r = await importModelFolder(store, path.join(fixtures, v));
    assert.equal(r.uploaded, true, v);
    const m = await store.manifest(r.uri);
    assert.equal(m.kind, 'model');
    assert.deepEqual(Object.keys(m.files!).sort(), [...r.folder.files].sort());
    assert.equal((m.attributes as Record<string, unknown>).model_type, 'gpt2');
    const { model } = await loadModelArtifact(store, r.uri);
    const err = maxAbs(logitsOf(model, expected(v).input_ids), expected(v).logits.data);
    assert.ok(err < 1e-4, `${v}: max |Δlogit| ${err}`);
    model.dispose();
    const again = await importModelFolder(store, path.join(fixtures, v));
    assert.deepEqual([again.uri, again.uploaded], [r.uri, false]);
  }
  const folder = (await importModelFolder(store, path.join(fixtures, 'folder'))).folder;
  assert.ok(folder.files.includes('tokenizer.json') && folder.files.includes('generation_config.json'));
});

test('model import to an explicit URI; a missing folder says so', async () => {
  const uri = store.runUri(run, 'import', 'base');
  const r = await importModelFolder(store, path.join(fixtures, 'base'), { uri });
  assert.equal(r.uri, uri);
  await assert.rejects(importModelFolder(store, path.join(tmp, 'absent')), {
    message: `model folder not found: ${path.join(tmp, 'absent')}`,
  });
});

test('imported model trains a DPO step and exports as a folder that loads with the trained logits', async () => {
  const uri = (await importModelFolder(store, path.join(fixtures, 'folder'))).uri;
  const { model: policy } = await loadModelArtifact(store, uri);
  const { model: ref } = await loadModelArtifact(store, uri);
  const pairs = [
    { prompt: 'Q: sky? A:', chosen: ' blue', rejected: ' green' },
    { prompt: 'Say hi:', chosen: ' hi', rejected: ' bye' },
  ];
  const before = logitsOf(policy, [[1, 2, 3, 4]]);
  const res = await trainDpo({
    policy,
    pairs,
    refLogps: computeRefLogps(ref, pairs),
    config: { maxSteps: 1, batchSize: 2, learningRate: 1e-2 },
  });
  res.dispose();
  const trained = logitsOf(policy, [[1, 2, 3, 4]]);
  assert.ok(maxAbs(before, trained) > 1e-4, 'the DPO step changed the weights');

  const trainedUri = store.runUri(run, 'dpo', 'model');
  await store.putBundle(trainedUri, serializeModel(policy).files, { kind: 'model' });
  const out = path.join(tmp, 'export-trained');
  const { files } = await exportModel(store, trainedUri, out);
  // The tokenizer files and generation config came along from the import.
  assert.deepEqual(files, [
    'config.json',
    'generation_config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
  ]);
  assert.deepEqual(
    readFileSync(path.join(out, 'tokenizer.json')),
    readFileSync(path.join(fixtures, 'folder', 'tokenizer.json')),
  );
  const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
  const src = JSON.parse(readFileSync(path.join(fixtures, 'folder', 'config.json'), 'utf8')) as Record<string, unknown>;
  for (const k of [
    'model_type',
    'architectures',
    'n_layer',
    'n_embd',
    'vocab_size',
    'bos_token_id',
    'eos_token_id',
    'tie_word_embeddings',
    'activation_function',
    'transformers_version',
  ])
    assert.deepEqual(cfg[k], src[k], k);
  assert.equal(cfg.bpoflow_tokenizer, undefined, 'a model with its own tokenizer files does not name one of ours');
  const back = await loadModel(out);
  assert.ok(maxAbs(logitsOf(back, [[1, 2, 3, 4]]), trained) < 1e-6);

  const py = findPython();
  if (py) {
    const theirs = JSON.parse(
      execFileSync(
        py,
        [
          '-c',
          `import json,torch\nfrom transformers import AutoModelForCausalLM as M\nm=M.from_pretrained(${JSON.stringify(out)}).eval()\nprint(json.dumps(m(torch.tensor([[1,2,3,4]])).logits.flatten().tolist()))`,
        ],
        { encoding: 'utf8', timeout: 240_000 },
      )
        .trim()
        .split('\n')
        .at(-1)!,
    ) as number[];
    assert.ok(maxAbs(theirs, trained) < 1e-4, 'transformers loads the export with our logits');
  }
  for (const m of [policy, ref, back]) m.dispose();
});

test('model export of a model made here writes our tokenizer as tokenizer.json', async () => {
  const { Gpt2Model } = await import('../../ml/gpt2.js');
  const { makeConfig } = await import('../../ml/config.js');
  const model = Gpt2Model.init(makeConfig({ n_layer: 1, n_head: 2, n_embd: 8, n_positions: 16 }, 258), 3, 'byte');
  const uri = store.runUri(run, 'init', 'model');
  await store.putBundle(uri, serializeModel(model).files, { kind: 'model' });
  const out = path.join(tmp, 'export-init');
  const r = await exportModel(store, uri, out);
  assert.deepEqual(r.files, ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
  const tj = JSON.parse(readFileSync(path.join(out, 'tokenizer.json'), 'utf8')) as {
    model: { vocab: Record<string, number>; merges: string[] };
    added_tokens: { id: number; content: string }[];
  };
  assert.equal(Object.keys(tj.model.vocab).length, 256);
  assert.deepEqual(tj.model.merges, []);
  assert.deepEqual(
    tj.added_tokens.map((t) => [t.id, t.content]),
    [
      [256, '<|endoftext|>'],
      [257, '<|pad|>'],
    ],
  );
  model.dispose();
});

test('a folder pipeline input is uploaded as a model bundle', async () => {
  const dir = path.join(tmp, 'pipe');
  const file = path.join(dir, 'p.yaml');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    file,
    [
      'apiVersion: bpoflow/v1',
      'kind: Pipeline',
      'metadata:',
      '  name: folder-input',
      'inputs:',
      `  base: { path: ${path.join(fixtures, 'base')} }`,
      'steps:',
      '  - id: promote',
      '    uses: model.promote@v1',
      '    with: { model: "${{ inputs.base }}", channel: folder-input, metric: accuracy, value: 1 }',
      '',
    ].join('\n'),
  );
  const plan = await preparePlan(file, {}, store);
  const uri = plan.inputs.base!;
  assert.match(uri, new RegExp(`^s3://${store.bucket}/inputs/[0-9a-f]{16}/base$`));
  const m = await store.manifest(uri);
  assert.equal(m.kind, 'model');
  assert.deepEqual(Object.keys(m.files!).sort(), ['config.json', 'generation_config.json', 'model.safetensors']);
  // Same folder, same URI: the step cache sees the same input.
  assert.equal((await preparePlan(file, {}, store)).inputs.base, uri);
});

function findPython(): string | null {
  for (const py of [process.env.BPOFLOW_PYTHON, path.join(os.homedir(), '.cache/bpoflow/py/bin/python')].filter(
    Boolean,
  ) as string[]) {
    if (!existsSync(py)) continue;
    try {
      execFileSync(py, ['-c', 'import torch, transformers'], { stdio: 'ignore', timeout: 120_000 });
      return py;
    } catch {
      /* next */
    }
  }
  return null;
}
