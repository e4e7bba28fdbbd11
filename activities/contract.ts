// What the workflow sends to the worker and gets back. Only references and
// small scalars cross this line: data stays in the artifact store.

export type OutputValue = string | number | boolean | null;
export type StepOutputs = Record<string, OutputValue>;

export interface ShardInfo {
  index: number;
  count: number;
}

export interface StepTask {
  runId: string;
  stepId: string;
  kind: string;
  version: string;
  args: Record<string, unknown>;
  shard?: ShardInfo;
}

export interface StepTaskResult {
  outputs: StepOutputs;
  /** The attempt that succeeded (1 = first try). */
  attempt: number;
  /** The latest metrics the step reported (see activities/metrics.ts), if any. */
  metrics?: Record<string, number>;
  /** Where the step computed and how much memory it took (steps run in a compute process). */
  telemetry?: StepTelemetry;
}

/** A compute process's backend and memory, sampled while it runs and at its end. */
export interface StepTelemetry {
  /** Tensor backend: tensorflow, wasm or cpu. */
  backend: string;
  /** Where its kernels run: "GPU <name>" or "CPU only: <why>" (ml/backend.ts). */
  device?: string;
  pid: number;
  rssMb: number;
  /** Peak resident memory of the compute process (its maxRSS). */
  peakRssMb: number;
  /** Bytes held by tensors on the GPU (tfjs-node-gpu only), in MiB. */
  gpuMemoryMb?: number;
}

export interface MergeTask {
  runId: string;
  stepId: string;
  kind: string;
  version: string;
  args: Record<string, unknown>;
  shards: StepOutputs[];
}

export interface CacheLookupTask {
  kind: string;
  version: string;
  args: Record<string, unknown>;
}

export interface CacheLookupResult {
  key: string;
  /** Outputs recorded by an earlier run, present only when every artifact they name still exists. */
  hit?: { outputs: StepOutputs; runId: string; stepId: string };
}

export interface CacheRecordTask {
  kind: string;
  version: string;
  key: string;
  outputs: StepOutputs;
  runId: string;
  stepId: string;
}

/** Progress a step reports in its heartbeats; `bpoflow status`/`watch` read it back. */
export interface StepProgress {
  done?: number;
  total?: number;
  unit?: string;
  message?: string;
  metrics?: Record<string, number>;
  checkpoint?: string;
  telemetry?: StepTelemetry;
}
