// A run's steps before any has started. Pure (types only): the workflow builds its first status with it,
// and the CLI rebuilds a finished run's status from its history with it.
import type { PipelineInput, StepStatus } from './pipeline.js';

/** Every step of a plan, not yet started: a run's status before its first step (also rebuilt from history). */
export function pendingSteps(plan: PipelineInput['plan']): StepStatus[] {
  return plan.steps.map((s) => ({
    id: s.id,
    uses: `${s.kind}@${s.version}`,
    queue: s.queue,
    cache: s.cache,
    state: 'pending',
    attempts: 0,
  }));
}
