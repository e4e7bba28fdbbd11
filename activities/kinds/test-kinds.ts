// Step kinds for the test suite and benchmarks only; the worker registers them
// when BPOFLOW_TEST_KINDS=1.
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import type { StepContext, StepKind } from '../step-kind.js';
import { BadInput, shardRange } from '../step-kind.js';
import type { StepOutputs } from '../contract.js';
import { MetricsWriter } from '../metrics.js';
import * as tf from '@tensorflow/tfjs';

class TestFailure extends Error {}

async function pause(ctx: StepContext, ms: number): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
}

export const testNoop: StepKind = {
  kind: 'test.noop',
  version: 'v1',
  inline: true,
  async run(ctx, args) {
    const startedAt = Date.now();
    await pause(ctx, Number(args.sleepMs ?? 0));
    const fail = args.fail ?? false;
    if (fail === true || (typeof fail === 'number' && ctx.attempt <= fail)) {
      const err = new TestFailure(`failing on purpose (attempt ${ctx.attempt})`);
      err.name = String(args.errorType ?? 'TestFailure');
      throw err;
    }
    if (typeof args.failUnless === 'string' && !(await ctx.store.exists(args.failUnless))) {
      throw new BadInput(`${args.failUnless} does not exist`);
    }
    return { value: String(args.value ?? ''), startedAt, endedAt: Date.now() };
  },
};

export const testShard: StepKind = {
  kind: 'test.shard',
  version: 'v1',
  inline: true,
  async run(ctx, args) {
    const text = new TextDecoder().decode(await ctx.store.readBytes(String(args.data)));
    const lines = text.split('\n').filter((l) => l.length > 0);
    const [start, end] = shardRange(lines.length, ctx.shard);
    await pause(ctx, Number(args.sleepMs ?? 0));
    const mine = lines.slice(start, end).map((l) => l.toUpperCase());
    const ref = await ctx.store.put(ctx.outputUri('data.txt'), Buffer.from(mine.map((l) => l + '\n').join('')), {
      kind: 'dataset',
      mediaType: 'text/plain',
      producer: { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt },
      inputs: [String(args.data)],
    });
    return { data: ref.uri, lines: mine.length, worker: `${hostname()}:${process.pid}` };
  },
  async merge(ctx, args, shards) {
    const parts = await Promise.all(shards.map((s) => ctx.store.readBytes(String(s.data))));
    const ref = await ctx.store.put(ctx.outputUri('data.txt'), Buffer.concat(parts), {
      kind: 'dataset',
      mediaType: 'text/plain',
      producer: { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt },
      inputs: [String(args.data), ...shards.map((s) => String(s.data))],
    });
    const workers = [...new Set(shards.map((s) => String(s.worker)))].sort().join(',');
    return { data: ref.uri, lines: shards.reduce((n, s) => n + Number(s.lines), 0), worker: workers };
  },
};

/**
 * One long synchronous stretch of tensor work (`blockMs`, default 12 s) with no await in it,
 * as a huge tensor op would be: it runs in a compute process, so the worker's heartbeats and
 * workflow tasks carry on meanwhile. Reports how many matMuls it did.
 */
export const testBlock: StepKind = {
  kind: 'test.block',
  version: 'v1',
  async run(ctx, args) {
    const blockMs = Number(args.blockMs ?? 12_000);
    const n = Number(args.size ?? 128);
    ctx.progress({ message: 'blocking' });
    ctx.log.info('blocking op started', { blockMs, pid: process.pid });
    const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
    const started = Date.now();
    let ops = 0;
    while (Date.now() - started < blockMs) {
      tf.tidy(() => tf.matMul(a, a)).dispose();
      ops++;
    }
    a.dispose();
    const ms = Date.now() - started;
    ctx.log.info('blocking op finished', { ms, ops });
    return { blockedMs: ms, ops, pid: process.pid };
  },
};

/** Deterministic noise in [-1, 1] for fake curves. */
const wobble = (i: number) => Math.sin(i * 12.9898) * 0.5 + Math.sin(i * 4.1414) * 0.5;

interface PairRow {
  prompt: unknown;
  chosen: unknown;
  rejected: unknown;
}

/**
 * Fake training: `steps` steps of `sleepMs`, streaming TRL-named metrics (decreasing loss,
 * rising reward margins and accuracies) through MetricsWriter. With `analysis: true` and
 * `data`, it also writes the artifacts a BPO step will write (stand-ins until it exists):
 * a depth-balanced copy of the data, gradient clusters, the depth allocation, an eval table
 * and a model whose lineage goes back to the data.
 */
export const testTrain: StepKind = {
  kind: 'test.train',
  version: 'v1',
  inline: true,
  async run(ctx, args) {
    const steps = Number(args.steps ?? 20);
    const sleepMs = Number(args.sleepMs ?? 100);
    const producer = { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt };
    const metrics = MetricsWriter.open(ctx, { total: steps, unit: 'steps', flushEveryMs: Number(args.flushEveryMs ?? 1000) });
    for (let step = 1; step <= steps; step++) {
      await pause(ctx, sleepMs);
      const t = step / steps;
      const margin = 2.5 * t + 0.1 * wobble(step);
      const row: Record<string, number> = {
        loss: 0.693 * Math.exp(-2.5 * t) + 0.05 + 0.02 * wobble(step + 7),
        'rewards/margins': margin,
        'rewards/accuracies': Math.min(1, 0.5 + 0.45 * t + 0.03 * wobble(step + 3)),
        'rewards/chosen': margin / 2 + 0.05 * wobble(step + 1),
        'rewards/rejected': -margin / 2 + 0.05 * wobble(step + 2),
        learning_rate: 5e-7 * (1 - t),
      };
      metrics.log(step, row);
    }
    const metricsUri = await metrics.close();
    const outputs: StepOutputs = { metrics: metricsUri, loss: Math.round((metrics.latest().loss ?? 0) * 1e4) / 1e4 };
    const data = args.data === undefined ? undefined : String(args.data);
    const inputs = data ? [data, metricsUri] : [metricsUri];
    if (args.analysis === true && data) {
      const rows = new TextDecoder()
        .decode(await ctx.store.readBytes(data))
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as PairRow);
      const maxDepth = Number(args.maxDepth ?? 2);
      const byPrompt = new Map<string, PairRow[]>();
      for (const r of rows) {
        const key = typeof r.prompt === 'string' ? r.prompt : JSON.stringify(r.prompt);
        byPrompt.set(key, [...(byPrompt.get(key) ?? []), r]);
      }
      const prompts = [...byPrompt.keys()];
      const balanced = prompts.flatMap((p) => byPrompt.get(p)!.slice(0, maxDepth));
      const balancedRef = await ctx.store.put(ctx.outputUri('balanced.jsonl'), Buffer.from(balanced.map((r) => JSON.stringify(r) + '\n').join('')), {
        kind: 'dataset',
        mediaType: 'application/x-ndjson',
        producer,
        inputs: [data],
      });
      const clusters = {
        points: prompts.map((prompt, i) => {
          const cluster = i % 3;
          return { x: Math.cos(cluster * 2.1) * 3 + wobble(i), y: Math.sin(cluster * 2.1) * 3 + wobble(i + 11), cluster, prompt };
        }),
      };
      const allocation = {
        prompts: prompts.map((prompt, i) => ({ prompt, depth: Math.min(maxDepth, byPrompt.get(prompt)!.length), score: Math.round((0.5 + 0.5 * wobble(i + 5)) * 1000) / 1000 })),
      };
      const latest = metrics.latest();
      const evalTable = { 'eval/loss': (latest.loss ?? 0) + 0.03, 'eval/rewards/accuracies': (latest['rewards/accuracies'] ?? 0) - 0.05, 'eval/win_rate': 0.61 };
      const clustersRef = await ctx.store.putJson(ctx.outputUri('clusters.json'), clusters, { kind: 'metrics', producer, inputs: [data] });
      const allocationRef = await ctx.store.putJson(ctx.outputUri('allocation.json'), allocation, { kind: 'metrics', producer, inputs: [clustersRef.uri] });
      const evalRef = await ctx.store.putJson(ctx.outputUri('eval.json'), evalTable, { kind: 'metrics', producer, inputs: [] });
      Object.assign(outputs, { data: balancedRef.uri, clusters: clustersRef.uri, allocation: allocationRef.uri, eval: evalRef.uri });
      inputs.push(balancedRef.uri, allocationRef.uri);
    }
    const model = await ctx.store.putJson(ctx.outputUri('model.json'), { fake: true, steps }, { kind: 'model', producer, inputs });
    outputs.model = model.uri;
    return outputs;
  },
};
