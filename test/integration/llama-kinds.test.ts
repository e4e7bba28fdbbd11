// Llama-family models through the step kinds on the real stack: a random
// llama-micro through model.sft → bpo.train → eval.preference, and an
// imported Qwen2 folder (golden fixture, own tokenizer.json) through the
// bpo.* kinds (policy sampling with the KV cache, log-prob rewards,
// gradient clustering on model.layers.N).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { deserializeModel, LlamaModel, selectBackend } from '../../ml/index.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const root = packageRoot();
let worker: WorkerHandle;
const store = () => ArtifactStore.fromEnv();
const out = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!.outputs!;
const failed = (s: RunStatus) => JSON.stringify(s.steps.map((x) => [x.id, x.state, x.error]));

before(async () => {
  worker = await startWorker();
  await selectBackend();
});
after(async () => {
  await worker?.stop();
});

describe('Llama-family models in pipelines', () => {
  test('llama-micro: model.sft → bpo.train → eval.preference', async () => {
    const { status, error } = await finish(
      await startPipeline(join(root, 'test', 'fixtures', 'bpo', 'llama-e2e.yaml'), []),
    );
    assert.equal(error, undefined, `${failed(status)}\n${worker.output().slice(-3000)}`);
    for (const s of status.steps) assert.ok(s.state === 'succeeded' || s.state === 'cached', `${s.id} is ${s.state}`);
    const dpo = deserializeModel(await store().readBundle(String(status.outputs!.dpo)));
    try {
      assert.ok(dpo instanceof LlamaModel);
      assert.equal(dpo.config.architecture, 'LlamaForCausalLM');
    } finally {
      dpo.dispose();
    }
    const acc = Number(status.outputs!.accuracy);
    assert.ok(acc >= 0 && acc <= 1, `accuracy ${acc}`);
  });

  test('an imported Qwen2 folder with its own tokenizer: select → augment → uniform / gradient-cluster', async () => {
    const dir = join(root, 'test', 'fixtures', 'hf', 'qwen2-bpe');
    const files: Record<string, Uint8Array> = {};
    for (const f of readdirSync(dir)) if (f !== 'expected.json') files[f] = readFileSync(join(dir, f));
    const s = store();
    const modelUri = (await s.putBundle(`s3://${s.bucket}/test/llama/qwen2-${Date.now()}`, files, { kind: 'model' }))
      .uri;
    const { status, error } = await finish(
      await startPipeline(join(root, 'test', 'fixtures', 'bpo-data', 'bpo-kinds.yaml'), [`model=${modelUri}`]),
    );
    assert.equal(error, undefined, `${failed(status)}\n${worker.output().slice(-3000)}`);
    assert.equal(status.state, 'succeeded');
    assert.equal(out(status, 'select').prompts, 6);
    assert.equal(out(status, 'augment').samples, 24);
    const g = out(status, 'gradient');
    assert.equal(g.pairs, g.budget);
    assert.ok(Number(g.pairs) > 0);
  });
});
