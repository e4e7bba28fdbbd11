// Step kinds that exist only to exercise the engine (sleep, fail, fan out, block, fake
// training), for the test suite and the benchmarks. A worker serves them when
// BPOFLOW_KIND_MODULES names ./index.js (testKindsEnv() in ./catalog.ts); their catalog
// files are made from these modules like the real kinds' (`npm run catalog`).
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { StepOutputs } from '../../activities/contract.js';
import { Type, withDefault } from '../../activities/kind-schema.js';
import { MetricsWriter } from '../../activities/metrics.js';
import { BadInput, defineKind, shardRange, type StepContext } from '../../activities/step-kind.js';

const ONLY_HERE = 'Served only where BPOFLOW_KIND_MODULES names the test kinds.';

class TestFailure extends Error {}

async function pause(ctx: StepContext, ms: number): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
}

export const testNoop = defineKind({
  kind: 'test.noop',
  version: 'v1',
  description: `Test kind: sleeps sleepMs, optionally fails (every attempt, or the first N), returns \`value\` as a string. ${ONLY_HERE}`,
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      sleepMs: withDefault(Type.Integer({ minimum: 0, description: 'How long the activity sleeps.' }), 0),
      fail: withDefault(
        Type.Unsafe<boolean | number>({
          type: ['boolean', 'integer'],
          minimum: 0,
          description: 'true: every attempt fails; N: the first N attempts fail, later ones succeed.',
        }),
        false,
      ),
      errorType: withDefault(
        Type.String({
          description: 'Error type of the failure; BadInput and ValidationError are not retried by default.',
        }),
        'TestFailure',
      ),
      failUnless: Type.Optional(
        Type.String({
          pattern: '^s3://',
          description:
            'Fails (BadInput) while this object does not exist: lets a test make a step fail, then succeed on ' +
            'resume.',
        }),
      ),
      value: Type.Optional(Type.Unknown({ description: 'Anything; returned as the `value` output (stringified).' })),
    },
    { additionalProperties: false },
  ),
  outputs: {
    value: { type: 'string', description: 'The `value` argument as a string' },
    startedAt: { type: 'number', description: 'Epoch ms when the attempt started' },
    endedAt: { type: 'number', description: 'Epoch ms when the attempt ended' },
  },
  async run(ctx, args) {
    const startedAt = Date.now();
    await pause(ctx, args.sleepMs);
    const { fail } = args;
    if (fail === true || (typeof fail === 'number' && ctx.attempt <= fail)) {
      const err = new TestFailure(`failing on purpose (attempt ${ctx.attempt})`);
      err.name = args.errorType;
      throw err;
    }
    if (typeof args.failUnless === 'string' && !(await ctx.store.exists(args.failUnless))) {
      throw new BadInput(`${args.failUnless} does not exist`);
    }
    return { value: String(args.value ?? ''), startedAt, endedAt: Date.now() };
  },
});

export const testShard = defineKind({
  kind: 'test.shard',
  version: 'v1',
  description:
    'Test kind, shardable on `data`: each shard upper-cases its contiguous range of lines; the merge concatenates ' +
    `them in input order. ${ONLY_HERE}`,
  queue: 'cpu',
  shardable: { input: 'data' },
  inline: true,
  args: Type.Object(
    {
      data: Type.String({ description: 's3:// URI of a text artifact, one item per line.' }),
      sleepMs: withDefault(Type.Integer({ minimum: 0, description: 'Sleep per shard.' }), 0),
    },
    { additionalProperties: false },
  ),
  outputs: {
    data: { type: 'artifact', description: 'The processed lines, in input order' },
    lines: { type: 'number', description: 'Number of lines processed' },
    worker: { type: 'string', description: 'host:pid of the worker(s) that ran the shards' },
  },
  async run(ctx, args) {
    const text = new TextDecoder().decode(await ctx.store.readBytes(args.data));
    const lines = text.split('\n').filter((l) => l.length > 0);
    const [start, end] = shardRange(lines.length, ctx.shard);
    await pause(ctx, args.sleepMs);
    const mine = lines.slice(start, end).map((l) => l.toUpperCase());
    const ref = await ctx.store.put(ctx.outputUri('data.txt'), Buffer.from(mine.map((l) => l + '\n').join('')), {
      kind: 'dataset',
      mediaType: 'text/plain',
      producer: { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt },
      inputs: [args.data],
    });
    return { data: ref.uri, lines: mine.length, worker: `${hostname()}:${process.pid}` };
  },
  async merge(ctx, args, shards) {
    const parts = await Promise.all(shards.map((s) => ctx.store.readBytes(String(s.data))));
    const ref = await ctx.store.put(ctx.outputUri('data.txt'), Buffer.concat(parts), {
      kind: 'dataset',
      mediaType: 'text/plain',
      producer: { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt },
      inputs: [args.data, ...shards.map((s) => String(s.data))],
    });
    const workers = [...new Set(shards.map((s) => String(s.worker)))].sort().join(',');
    return { data: ref.uri, lines: shards.reduce((n, s) => n + Number(s.lines), 0), worker: workers };
  },
});

/**
 * One long synchronous stretch of tensor work (`blockMs`, default 12 s) with no await in it,
 * as a huge tensor op would be: it runs in a compute process, so the worker's heartbeats and
 * workflow tasks carry on meanwhile. Reports how many matMuls it did.
 */
export const testBlock = defineKind({
  kind: 'test.block',
  version: 'v1',
  description:
    'Test kind: one synchronous stretch of tensor work (matMuls, no await) for blockMs, as one huge tensor op ' +
    `would be. ${ONLY_HERE}`,
  queue: 'cpu',
  args: Type.Object(
    {
      blockMs: withDefault(
        Type.Integer({ minimum: 0, description: 'How long the event loop of the compute process stays blocked.' }),
        12_000,
      ),
      size: withDefault(Type.Integer({ minimum: 1, description: 'Side of the square matrices multiplied.' }), 128),
    },
    { additionalProperties: false },
  ),
  outputs: {
    blockedMs: { type: 'number', description: 'How long it blocked' },
    ops: { type: 'number', description: 'matMuls done' },
    pid: { type: 'number', description: 'The compute process that ran it' },
  },
  async run(ctx, args) {
    const { blockMs, size: n } = args;
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
});

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
export const testTrain = defineKind({
  kind: 'test.train',
  version: 'v1',
  description:
    'Test kind: fake training of `steps` steps of `sleepMs`, streaming TRL-named metrics (loss, rewards/*) to ' +
    'metrics.jsonl via MetricsWriter and reporting step progress. With `analysis: true` and `data`, also writes ' +
    "stand-ins for the BPO step's artifacts: a depth-balanced dataset, clusters.json, allocation.json, eval.json. " +
    ONLY_HERE,
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      steps: withDefault(Type.Integer({ minimum: 1, description: 'Training steps.' }), 20),
      sleepMs: withDefault(Type.Integer({ minimum: 0, description: 'Sleep per step.' }), 100),
      flushEveryMs: withDefault(
        Type.Integer({ minimum: 0, description: 'How often metrics.jsonl is rewritten.' }),
        1000,
      ),
      data: Type.Optional(Type.String({ description: 's3:// URI of a {prompt, chosen, rejected} JSONL dataset.' })),
      analysis: withDefault(
        Type.Boolean({
          description: 'Write the fake balanced data, clusters, allocation and eval artifacts (needs data).',
        }),
        false,
      ),
      maxDepth: withDefault(
        Type.Integer({ minimum: 1, description: 'Pairs kept per prompt in the balanced data.' }),
        2,
      ),
    },
    { additionalProperties: false },
  ),
  outputs: {
    metrics: { type: 'artifact', description: 'metrics.jsonl: one row per step' },
    loss: { type: 'number', description: 'Final loss' },
    model: { type: 'artifact', description: 'A fake model artifact (kind model)' },
    data: { type: 'artifact', description: 'The depth-balanced dataset (analysis only)' },
    clusters: { type: 'artifact', description: 'clusters.json (analysis only)' },
    allocation: { type: 'artifact', description: 'allocation.json (analysis only)' },
    eval: { type: 'artifact', description: 'eval.json: metric -> value (analysis only)' },
  },
  async run(ctx, args) {
    const { steps, sleepMs, data, maxDepth } = args;
    const producer = { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt };
    const metrics = MetricsWriter.open(ctx, { total: steps, unit: 'steps', flushEveryMs: args.flushEveryMs });
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
    const inputs = data ? [data, metricsUri] : [metricsUri];
    if (args.analysis && data) {
      const rows = new TextDecoder()
        .decode(await ctx.store.readBytes(data))
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as PairRow);
      const byPrompt = new Map<string, PairRow[]>();
      for (const r of rows) {
        const key = typeof r.prompt === 'string' ? r.prompt : JSON.stringify(r.prompt);
        byPrompt.set(key, [...(byPrompt.get(key) ?? []), r]);
      }
      const prompts = [...byPrompt.keys()];
      const balanced = prompts.flatMap((p) => byPrompt.get(p)!.slice(0, maxDepth));
      const balancedRef = await ctx.store.put(
        ctx.outputUri('balanced.jsonl'),
        Buffer.from(balanced.map((r) => JSON.stringify(r) + '\n').join('')),
        {
          kind: 'dataset',
          mediaType: 'application/x-ndjson',
          producer,
          inputs: [data],
        },
      );
      const clusters = {
        points: prompts.map((prompt, i) => {
          const cluster = i % 3;
          return {
            x: Math.cos(cluster * 2.1) * 3 + wobble(i),
            y: Math.sin(cluster * 2.1) * 3 + wobble(i + 11),
            cluster,
            prompt,
          };
        }),
      };
      const allocation = {
        prompts: prompts.map((prompt, i) => ({
          prompt,
          depth: Math.min(maxDepth, byPrompt.get(prompt)!.length),
          score: Math.round((0.5 + 0.5 * wobble(i + 5)) * 1000) / 1000,
        })),
      };
      const latest = metrics.latest();
      const evalTable = {
        'eval/loss': (latest.loss ?? 0) + 0.03,
        'eval/rewards/accuracies': (latest['rewards/accuracies'] ?? 0) - 0.05,
        'eval/win_rate': 0.61,
      };
      const clustersRef = await ctx.store.putJson(ctx.outputUri('clusters.json'), clusters, {
        kind: 'metrics',
        producer,
        inputs: [data],
      });
      const allocationRef = await ctx.store.putJson(ctx.outputUri('allocation.json'), allocation, {
        kind: 'metrics',
        producer,
        inputs: [clustersRef.uri],
      });
      const evalRef = await ctx.store.putJson(ctx.outputUri('eval.json'), evalTable, {
        kind: 'metrics',
        producer,
        inputs: [],
      });
      Object.assign(outputs, {
        data: balancedRef.uri,
        clusters: clustersRef.uri,
        allocation: allocationRef.uri,
        eval: evalRef.uri,
      });
      inputs.push(balancedRef.uri, allocationRef.uri);
    }
    const model = await ctx.store.putJson(
      ctx.outputUri('model.json'),
      { fake: true, steps },
      { kind: 'model', producer, inputs },
    );
    outputs.model = model.uri;
    return outputs;
  },
});
