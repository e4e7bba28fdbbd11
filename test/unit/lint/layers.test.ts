// The layer rule and Temporal's workflow rule in eslint.config.js, run on snippets placed in each folder: the
// gitignore-style import patterns are easy to get subtly wrong, so each direction is checked both ways.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { packageRoot } from '../../../spec/package-root.js';

const eslint = new ESLint({ cwd: packageRoot() });

/** The import lines of `code` that the import rules refuse, as written in a file at `filePath`. */
async function refused(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  const lines = code.split('\n');
  return result!.messages
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => lines[m.line - 1]!);
}

describe('layer rule', () => {
  it('keeps ml/ and store/ free of the layers above them and of each other', async () => {
    const ml = [
      "import { ArtifactStore } from '../store/index.js';",
      "import { runStep } from '../activities/run-step.js';",
      "import { compile } from '../../spec/compile.js';",
      "import { Client } from '@temporalio/client';",
      "import * as Minio from 'minio';",
    ];
    assert.deepEqual(await refused('ml/bpo/probe.ts', [...ml, "import { Rng } from '../rng.js';"].join('\n')), ml);
    const store = ["import { Rng } from '../ml/rng.js';", "import * as tf from '@tensorflow/tfjs';"];
    const storeMay = "import { formatUri } from './keys.js';\nimport { readRecords } from '../formats/index.js';";
    assert.deepEqual(await refused('store/probe.ts', [...store, storeMay].join('\n')), store);
  });

  it('keeps formats/ a leaf that store/ and activities/ read', async () => {
    const formats = [
      "import { ArtifactStore } from '../store/artifacts.js';",
      "import { Rng } from '../ml/rng.js';",
      "import * as Minio from 'minio';",
    ];
    const own = "import { hhPair } from './hh.js';";
    assert.deepEqual(await refused('formats/probe.ts', [...formats, own].join('\n')), formats);
    const reader = "import { readDataset } from '../formats/index.js';";
    assert.deepEqual(await refused('store/probe.ts', reader), []);
    assert.deepEqual(await refused('activities/probe.ts', reader), []);
    assert.deepEqual(await refused('ml/probe.ts', reader), [reader]);
  });

  it('lets activities/ use spec, ml and store but not workflows or cli', async () => {
    const code = [
      "import { canonicalJson } from '../../spec/canonical-json.js';",
      "import { Rng } from '../../ml/rng.js';",
      "import { ArtifactStore } from '../../store/index.js';",
      "import { pipelineWorkflow } from '../../workflows/index.js';",
      "import { connect } from '../../cli/connect.js';",
    ];
    assert.deepEqual(await refused('activities/kinds/probe.ts', code.join('\n')), code.slice(3));
  });

  it('lets spec/ use ml but nothing that runs it', async () => {
    const code = [
      "import { inspectModelFolder } from '../ml/hf-folder.js';",
      "import { ArtifactStore } from '../store/index.js';",
      "import type { StepOutputs } from '../activities/contract.js';",
    ];
    assert.deepEqual(await refused('spec/probe.ts', code.join('\n')), code.slice(1));
  });

  it('keeps bench/ and test/ out of production code, and lets them import anything', async () => {
    const code = [
      "import { startStack } from '../test/helpers/worker.js';",
      "import { tasks } from '../bench/tasks/x.js';",
    ];
    assert.deepEqual(await refused('cli/probe.ts', code.join('\n')), code);
    const anything = "import { ArtifactStore } from '../../store/index.js';\nimport { x } from '../../bench/ml.js';";
    assert.deepEqual(await refused('test/unit/probe.ts', anything), []);
  });
});

describe("Temporal's workflow rule", () => {
  it('allows types from spec/ and activities/, values only from the pure modules, and no Node built-ins', async () => {
    const allowed = [
      "import type * as control from '../activities/control.js';",
      "import { type Plan } from '../spec/plan.js';",
      "import { NON_RETRYABLE_ERROR_TYPES } from '../activities/failures.js';",
      "import { evaluate } from '../spec/expr-eval.js';",
      "import { proxyActivities } from '@temporalio/workflow';",
    ];
    const refusedLines = [
      "import { runStep } from '../activities/run-step.js';",
      "import { compile } from '../spec/compile.js';",
      "import { readFileSync } from 'node:fs';",
      "import { randomUUID } from 'crypto';",
      "import { Context } from '@temporalio/activity';",
      "import type { ArtifactRef } from '../store/index.js';",
    ];
    assert.deepEqual(await refused('workflows/probe.ts', [...allowed, ...refusedLines].join('\n')), refusedLines);
  });

  it('holds the pure modules the workflow bundle takes from other folders to the same rule', async () => {
    assert.deepEqual(await refused('activities/failures.ts', "import { hostname } from 'node:os';"), [
      "import { hostname } from 'node:os';",
    ]);
  });
});
