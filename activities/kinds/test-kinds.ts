// Step kinds for the test suite and benchmarks only; the worker registers them
// when BPOFLOW_TEST_KINDS=1.
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import type { StepContext, StepKind } from '../step-kind.js';
import { shardRange } from '../step-kind.js';

class TestFailure extends Error {}

async function pause(ctx: StepContext, ms: number): Promise<void> {
  if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal });
}

export const testNoop: StepKind = {
  kind: 'test.noop',
  version: 'v1',
  async run(ctx, args) {
    const startedAt = Date.now();
    await pause(ctx, Number(args.sleepMs ?? 0));
    const fail = args.fail ?? false;
    if (fail === true || (typeof fail === 'number' && ctx.attempt <= fail)) {
      const err = new TestFailure(`failing on purpose (attempt ${ctx.attempt})`);
      err.name = String(args.errorType ?? 'TestFailure');
      throw err;
    }
    return { value: String(args.value ?? ''), startedAt, endedAt: Date.now() };
  },
};

export const testShard: StepKind = {
  kind: 'test.shard',
  version: 'v1',
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
