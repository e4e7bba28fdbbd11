// The model-side kinds end to end on the real stack with a real worker:
// dataset.import → dataset.split → model.sft → bpo.train → eval.preference →
// eval.generate → model.promote on a micro model, then promotion decisions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { RunStatus } from '../../workflows/pipeline.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { Channels } from '../../store/channels.js';
import { packageRoot } from '../../spec/package-root.js';
import { parseMetrics } from '../../activities/metrics.js';
import type { RefLogpsCache } from '../../activities/steps/ref-logps.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const fixtures = join(packageRoot(), 'test', 'fixtures', 'bpo');
let worker: WorkerHandle;
const stepOf = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

describe('bpo pipeline (micro model)', () => {
  const channel = `e2e-${randomBytes(4).toString('hex')}`;
  let out: Record<string, unknown>;

  test('import → split → sft → bpo.train → evals → promote', async () => {
    const t0 = Date.now();
    const { status, error } = await finish(
      await startPipeline(join(fixtures, 'pipeline.yaml'), [`channel=${channel}`]),
    );
    assert.equal(
      error,
      undefined,
      `run failed: ${JSON.stringify(status.steps.map((s) => [s.id, s.state, s.error]))}\n${worker.output().slice(-3000)}`,
    );
    out = status.outputs!;
    console.log(`e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s; outputs ${JSON.stringify(out)}`);
    // Other test files share this stack and its step cache: a step they already ran with the same inputs is `cached`.
    for (const s of status.steps) assert.ok(s.state === 'succeeded' || s.state === 'cached', `${s.id} is ${s.state}`);
    const store = ArtifactStore.fromEnv();

    // dataset.import: 86 good rows, 2 bad rows skipped; canonical TRL pairs.
    assert.equal(out.skipped, 2);
    assert.equal(stepOf(status, 'import').outputs!.rows, 86);
    const first = (await store.readBytes(String(out.data))).toString().split('\n')[0]!;
    assert.deepEqual(Object.keys(JSON.parse(first)), ['prompt', 'chosen', 'rejected']);

    // dataset.split: by prompt, no prompt in two splits, all rows kept.
    const split = stepOf(status, 'split').outputs!;
    assert.equal(Number(split.trainRows) + Number(split.validationRows) + Number(split.testRows), 86);
    const prompts = async (uri: unknown) =>
      new Set(
        (await store.readBytes(String(uri)))
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l).prompt as string),
      );
    const [tr, te] = [await prompts(split.train), await prompts(split.test)];
    assert.ok(tr.size > 0 && te.size > 0);
    for (const p of te) assert.ok(!tr.has(p), `prompt ${p} is in train and test`);

    // model.sft and bpo.train: losses go down in metrics.jsonl.
    for (const [name, uri, steps] of [
      ['sft', out.sftMetrics, 20],
      ['dpo', out.metrics, 20],
    ] as const) {
      const rows = parseMetrics((await store.readBytes(String(uri))).toString());
      assert.equal(rows.length, steps, `${name} metrics rows`);
      assert.deepEqual(
        rows.map((r) => r.step),
        Array.from({ length: steps }, (_, i) => i + 1),
      );
      const head = mean(rows.slice(0, 3).map((r) => r.loss!));
      const tail = mean(rows.slice(-3).map((r) => r.loss!));
      console.log(`${name}: loss ${head.toFixed(4)} → ${tail.toFixed(4)} over ${steps} steps`);
      assert.ok(tail < head, `${name} loss should decrease: ${head} → ${tail}`);
      if (name === 'dpo') {
        for (const k of [
          'rewards/chosen',
          'rewards/rejected',
          'rewards/accuracies',
          'rewards/margins',
          'logps/chosen',
          'logps/rejected',
          'grad_norm',
          'learning_rate',
          'tokens',
        ]) {
          assert.equal(typeof rows.at(-1)![k], 'number', `metrics row lacks ${k}`);
        }
        assert.equal(rows.at(-1)!.tokens, out.tokens);
      }
    }
    assert.equal(out.steps, 20);
    assert.ok(Number(out.tokens) > 0);
    assert.equal(out.resumedFrom, 0);
    // Reference log-probs: the pairs training read (20 steps × batch 8 cover the train split), from the cache.
    const ref = await store.readJson<RefLogpsCache>(String(out.refLogps));
    assert.equal(ref.pairs, Number(split.trainRows));
    assert.equal(new Set(ref.index).size, Number(split.trainRows));
    assert.ok(ref.chosen.every(Number.isFinite));
    const model = await store.manifest(String(out.model));
    assert.equal(model.kind, 'model');
    assert.deepEqual(Object.keys(model.files!).sort(), ['config.json', 'model.safetensors']);

    // evals: numbers in range.
    for (const k of ['accuracy', 'meanReward', 'genAccuracy', 'winRate'])
      assert.ok(Number(out[k]) >= 0 && Number(out[k]) <= 1, `${k} = ${out[k]}`);
    assert.ok(Number.isFinite(Number(out.margin)) && Number.isFinite(Number(out.kl)));
    const evalReport = await store.readJson<{ pairs: number; accuracy: number }>(
      String(stepOf(status, 'pref').outputs!.eval),
    );
    assert.equal(evalReport.pairs, Number(split.testRows));
    assert.equal(evalReport.accuracy, out.accuracy);

    // model.promote: the empty channel takes the model.
    assert.equal(out.promoted, true);
    assert.equal(out.channelModel, out.model);
    const ptr = await new Channels(store).latest(channel);
    assert.equal(ptr?.modelUri, out.model);
    assert.equal(ptr?.metrics.accuracy, out.accuracy);
  });

  test('a worse metric does not move the channel; a better one does', async () => {
    assert.ok(out, 'needs the pipeline run');
    const store = ArtifactStore.fromEnv();
    const acc = Number(out.accuracy);
    const worse = await finish(
      await startPipeline(join(fixtures, 'promote.yaml'), [
        `model=${out.sftModel}`,
        `channel=${channel}`,
        `value=${acc - 0.25}`,
      ]),
    );
    assert.equal(worse.error, undefined);
    assert.equal(worse.status.outputs?.promoted, false, String(worse.status.outputs?.reason));
    assert.equal(worse.status.outputs?.model, out.model);
    assert.equal((await new Channels(store).latest(channel))?.modelUri, out.model);

    const better = await finish(
      await startPipeline(join(fixtures, 'promote.yaml'), [
        `model=${out.sftModel}`,
        `channel=${channel}`,
        `value=${acc + 0.25}`,
      ]),
    );
    assert.equal(better.status.outputs?.promoted, true, String(better.status.outputs?.reason));
    const ptr = await new Channels(store).latest(channel);
    assert.equal(ptr?.modelUri, out.sftModel);
    assert.equal(ptr?.seq, 2);
    assert.equal((await new Channels(store).history(channel)).length, 2);

    // mode: min — lower is better.
    const lower = await finish(
      await startPipeline(join(fixtures, 'promote.yaml'), [
        `model=${out.model}`,
        `channel=${channel}`,
        `metric=loss`,
        `value=0.5`,
        `mode=min`,
      ]),
    );
    assert.equal(lower.status.outputs?.promoted, true, 'no loss recorded yet: promotes');
    const higher = await finish(
      await startPipeline(join(fixtures, 'promote.yaml'), [
        `model=${out.sftModel}`,
        `channel=${channel}`,
        `metric=loss`,
        `value=0.7`,
        `mode=min`,
      ]),
    );
    assert.equal(higher.status.outputs?.promoted, false, String(higher.status.outputs?.reason));

    // model.sft continues from channel://<name>: the channel's latest (out.model, promoted on loss above).
    const cont = await finish(
      await startPipeline(join(fixtures, 'sft-channel.yaml'), [`channel=${channel}`, `data=${out.data}`]),
    );
    assert.equal(cont.error, undefined);
    assert.equal(cont.status.outputs?.steps, 3);
    const m = await store.manifest(String(cont.status.outputs?.model));
    assert.ok(
      m.inputs.some((i) => i.uri === out.model),
      `lineage names the channel's model: ${JSON.stringify(m.inputs)}`,
    );
  });
});
