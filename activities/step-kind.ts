// The interface every step kind implements. Kinds are registered in the worker
// (registry.ts): a pipeline names a kind, it never brings code.
import type { ArtifactStore } from '../store/artifacts.js';
import type { ShardInfo, StepOutputs, StepProgress } from './contract.js';
import type { Logger } from './log.js';

export interface StepContext {
  runId: string;
  stepId: string;
  /** 1 on the first try. */
  attempt: number;
  shard?: ShardInfo;
  store: ArtifactStore;
  log: Logger;
  /** Reports progress; it reaches Temporal with the next heartbeat (throttled). */
  progress(p: StepProgress): void;
  /** Progress a previous attempt reported last, e.g. its latest checkpoint reference. */
  previousProgress?: StepProgress;
  /** Aborted when the run is cancelled or the activity times out. */
  signal: AbortSignal;
  /** `s3://<bucket>/runs/<run>/<step>/<name>`, with a shard suffix when sharded. */
  outputUri(name: string): string;
}

export interface StepKind {
  kind: string;
  version: string;
  run(ctx: StepContext, args: Record<string, unknown>): Promise<StepOutputs>;
  /**
   * True for kinds that only move data (awaited I/O, small pieces of CPU work): they run
   * on the worker's event loop and skip starting a compute process (1–3 s). Every other
   * kind runs in a compute process of its own (compute-host.ts).
   */
  inline?: boolean;
  /** For shardable kinds: combines the shards' outputs, in shard order. */
  merge?(ctx: StepContext, args: Record<string, unknown>, shards: StepOutputs[]): Promise<StepOutputs>;
}

/** An error that retrying cannot fix: the workflow fails the step at once. */
export class BadInput extends Error {
  override name = 'BadInput';
}

/** Contiguous row range [start, end) of shard `index` of `count` over `total` rows: merged shards keep input order. */
export function shardRange(total: number, shard: ShardInfo | undefined): [number, number] {
  if (!shard) return [0, total];
  const start = Math.floor((total * shard.index) / shard.count);
  const end = Math.floor((total * (shard.index + 1)) / shard.count);
  return [start, end];
}
