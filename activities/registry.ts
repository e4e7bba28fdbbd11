// The worker's registry of step kinds. YAML can only name what is listed here.
import { ApplicationFailure } from '@temporalio/common';
import type { StepKind } from './step-kind.js';
import { datasetStats } from './kinds/dataset-stats.js';
import { testNoop, testShard } from './kinds/test-kinds.js';

const kinds = new Map<string, StepKind>();

export function registerKind(kind: StepKind): void {
  kinds.set(`${kind.kind}@${kind.version}`, kind);
}

for (const k of [datasetStats]) registerKind(k);
if (process.env.BPOFLOW_TEST_KINDS === '1') for (const k of [testNoop, testShard]) registerKind(k);

export function findKind(kind: string, version: string): StepKind {
  const found = kinds.get(`${kind}@${version}`);
  if (!found) {
    throw ApplicationFailure.nonRetryable(`step kind ${kind}@${version} is not registered in this worker (known: ${registeredKinds().join(', ')})`, 'UnknownStepKind');
  }
  return found;
}

export function registeredKinds(): string[] {
  return [...kinds.keys()].sort();
}
