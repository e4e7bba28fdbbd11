// The worker's registry of step kinds. YAML can only name what is listed here: the
// kinds this release ships (`builtinKinds`, the one list; the catalog files are made
// from it) and those of the ES modules named by BPOFLOW_KIND_MODULES (colon-separated,
// each exporting `kinds`), which is how the test suite and the benchmarks bring theirs.
// Compute processes inherit the variable, so they find the same kinds.
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import type { RegisteredKind } from './step-kind.js';
import { bpoAugment } from './kinds/bpo-augment.js';
import { bpoBalanceLength } from './kinds/bpo-balance-length.js';
import { bpoBalanceUniform } from './kinds/bpo-balance-uniform.js';
import { bpoGradientCluster } from './kinds/bpo-gradient-cluster.js';
import { bpoSelectPrompts } from './kinds/bpo-select-prompts.js';
import { bpoTrain } from './kinds/bpo-train.js';
import { datasetCollect } from './kinds/dataset-collect.js';
import { datasetImport } from './kinds/dataset-import.js';
import { datasetSplit } from './kinds/dataset-split.js';
import { datasetStats } from './kinds/dataset-stats.js';
import { evalGenerate } from './kinds/eval-generate.js';
import { evalPreference } from './kinds/eval-preference.js';
import { evalReward } from './kinds/eval-reward.js';
import { modelPromote } from './kinds/model-promote.js';
import { modelReward } from './kinds/model-reward.js';
import { modelSft } from './kinds/model-sft.js';

export const builtinKinds: readonly RegisteredKind[] = [
  bpoAugment,
  bpoBalanceLength,
  bpoBalanceUniform,
  bpoGradientCluster,
  bpoSelectPrompts,
  bpoTrain,
  datasetCollect,
  datasetImport,
  datasetSplit,
  datasetStats,
  evalGenerate,
  evalPreference,
  evalReward,
  modelPromote,
  modelReward,
  modelSft,
];

const id = (k: { kind: string; version: string }) => `${k.kind}@${k.version}`;

async function importKinds(modules: string | undefined): Promise<RegisteredKind[]> {
  const out: RegisteredKind[] = [];
  for (const path of (modules ?? '').split(':').filter((p) => p.length > 0)) {
    const { kinds } = (await import(pathToFileURL(path).href)) as { kinds?: RegisteredKind[] };
    if (!Array.isArray(kinds)) throw new Error(`BPOFLOW_KIND_MODULES: ${path} exports no \`kinds\` list`);
    out.push(...kinds);
  }
  return out;
}

const registry = new Map<string, RegisteredKind>();
for (const k of [...builtinKinds, ...(await importKinds(process.env.BPOFLOW_KIND_MODULES))]) {
  if (registry.has(id(k))) throw new Error(`step kind ${id(k)} is registered twice`);
  registry.set(id(k), k);
}

export function findKind(kind: string, version: string): RegisteredKind {
  const found = registry.get(`${kind}@${version}`);
  if (!found) {
    throw ApplicationFailure.nonRetryable(
      `step kind ${kind}@${version} is not registered in this worker (known: ${registeredKinds().join(', ')})`,
      'UnknownStepKind',
    );
  }
  return found;
}

export function registeredKinds(): string[] {
  return [...registry.keys()].sort();
}
