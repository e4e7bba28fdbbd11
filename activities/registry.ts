// The worker's registry of step kinds. YAML can only name what is listed here.
import { ApplicationFailure } from '@temporalio/common';
import type { StepKind } from './step-kind.js';
import { datasetStats } from './kinds/dataset-stats.js';
import { datasetCollect } from './kinds/dataset-collect.js';
import { datasetImport } from './kinds/dataset-import.js';
import { datasetSplit } from './kinds/dataset-split.js';
import { modelSft } from './kinds/model-sft.js';
import { bpoTrain } from './kinds/bpo-train.js';
import { evalPreference } from './kinds/eval-preference.js';
import { evalGenerate } from './kinds/eval-generate.js';
import { modelPromote } from './kinds/model-promote.js';
import { modelReward } from './kinds/model-reward.js';
import { evalReward } from './kinds/eval-reward.js';
import { testBlock, testNoop, testShard, testTrain } from './kinds/test-kinds.js';
import { bpoSelectPrompts } from './kinds/bpo-select-prompts.js';
import { bpoAugment } from './kinds/bpo-augment.js';
import { bpoBalanceUniform } from './kinds/bpo-balance-uniform.js';
import { bpoGradientCluster } from './kinds/bpo-gradient-cluster.js';
import { bpoBalanceLength } from './kinds/bpo-balance-length.js';

const kinds = new Map<string, StepKind>();

export function registerKind(kind: StepKind): void {
  kinds.set(`${kind.kind}@${kind.version}`, kind);
}

for (const k of [datasetStats, datasetCollect]) registerKind(k);
for (const k of [datasetImport, datasetSplit, modelSft, bpoTrain, evalPreference, evalGenerate, modelPromote]) registerKind(k);
for (const k of [modelReward, evalReward]) registerKind(k);
for (const k of [bpoSelectPrompts, bpoAugment, bpoBalanceUniform, bpoGradientCluster, bpoBalanceLength]) registerKind(k);
if (process.env.BPOFLOW_TEST_KINDS === '1') for (const k of [testNoop, testShard, testTrain, testBlock]) registerKind(k);

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
