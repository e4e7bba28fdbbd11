// What a step kind is, and what its code is given. Kinds are registered in the worker
// (registry.ts): a pipeline names a kind, it never brings code.
import type { ArtifactStore } from '../store/artifacts.js';
import type { ArgsOf, TObject } from './kind-schema.js';
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

/** How the run report shows an output (cli/report): a dataset.stats report, or one eval metric. */
export type ReportRole = 'stats' | 'metric';

export interface KindOutput {
  type: 'artifact' | 'number' | 'string' | 'boolean';
  description?: string;
  report?: ReportRole;
}

/**
 * One step kind, whole: what the catalog file says about it (generated from this,
 * `npm run catalog`) and the code the worker runs. `args` is a TypeBox schema; `run`
 * receives the step's `with` checked against it, defaults filled in (kind-args.ts).
 */
export interface StepKindModule<A extends TObject = TObject> {
  kind: string;
  version: string;
  description: string;
  /** Default task queue; a step or the pipeline's `defaults` may override it. */
  queue: 'cpu' | 'gpu';
  args: A;
  outputs: Record<string, KindOutput>;
  /** Set when the runtime may split the named argument across `shards` workers (then `merge` is needed). */
  shardable?: { input: keyof A['properties'] & string };
  /**
   * True for kinds that only move data (awaited I/O, small pieces of CPU work): they run
   * on the worker's event loop and skip starting a compute process (1–3 s). Every other
   * kind runs in a compute process of its own (compute-host.ts).
   */
  inline?: boolean;
  run(ctx: StepContext, args: ArgsOf<A>): Promise<StepOutputs>;
  /** For shardable kinds: combines the shards' outputs, in shard order. */
  merge?(ctx: StepContext, args: ArgsOf<A>, shards: StepOutputs[]): Promise<StepOutputs>;
}

/**
 * A kind with its argument types erased: what the registry holds and the worker runs.
 * `run` takes `never` so any kind fits; the worker passes it kindArgs' checked arguments.
 */
export interface RegisteredKind extends Omit<StepKindModule, 'run' | 'merge' | 'shardable'> {
  shardable?: { input: string };
  run(ctx: StepContext, args: never): Promise<StepOutputs>;
  merge?(ctx: StepContext, args: never, shards: StepOutputs[]): Promise<StepOutputs>;
}

/** Declares a kind; the identity function that gives `run` its typed arguments. */
export function defineKind<A extends TObject>(kind: StepKindModule<A>): StepKindModule<A> {
  return kind;
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
