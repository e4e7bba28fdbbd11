// Builds the StepContext a kind runs with, the same way on the worker's event
// loop (inline kinds) and in a step's compute process (compute-child.ts).
import type { ArtifactStore } from '../store/artifacts.js';
import type { MergeTask, StepProgress, StepTask } from './contract.js';
import type { Logger } from './log.js';
import type { StepContext } from './step-kind.js';

export interface StepContextParts {
  attempt: number;
  store: ArtifactStore;
  log: Logger;
  signal: AbortSignal;
  progress(p: StepProgress): void;
  /** What the previous attempt heartbeated last (attempt > 1 only). */
  previousProgress?: StepProgress;
}

export function stepContext(task: StepTask | MergeTask, parts: StepContextParts): StepContext {
  const shard = 'shard' in task ? task.shard : undefined;
  const suffix = shard ? `.shard-${String(shard.index).padStart(4, '0')}` : '';
  return {
    runId: task.runId,
    stepId: task.stepId,
    attempt: parts.attempt,
    shard,
    store: parts.store,
    log: parts.log,
    previousProgress: parts.previousProgress,
    signal: parts.signal,
    progress: parts.progress,
    outputUri: (name) => parts.store.runUri(task.runId, task.stepId, name + suffix),
  };
}
