// Pure parts of the compute process plumbing: errors cross the IPC channel with
// the name, message, type and retryability toFailure maps; the training order
// that bounds what bpo.train precomputes is the order the loop reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import * as tf from '@tensorflow/tfjs';
import { rebuildError, serializeError } from '../../../activities/compute-protocol.js';
import { BadInput } from '../../../activities/step-kind.js';
import { tokensForSteps } from '../../../activities/steps/training.js';
import { telemetryText } from '../../../cli/run-view.js';
import { firstUses, makeConfig, Gpt2Model, runTrainLoop, selectBackend, trainingIndices } from '../../../ml/index.js';

const roundTrip = (e: unknown) => rebuildError(JSON.parse(JSON.stringify(serializeError(e))));

test('errors keep their name, message, code and cause across the process boundary', () => {
  const bad = roundTrip(new BadInput('s3://b/x.jsonl: row 3: no prompt'));
  assert.equal(bad.name, 'BadInput');
  assert.equal(bad.message, 's3://b/x.jsonl: row 3: no prompt');
  assert.ok(!(bad instanceof ApplicationFailure));

  const s3 = Object.assign(new Error('connect ECONNREFUSED', { cause: new TypeError('socket') }), {
    code: 'ECONNREFUSED',
    name: 'StoreUnavailable',
  });
  const back = roundTrip(s3) as Error & { code?: string };
  assert.equal(back.name, 'StoreUnavailable');
  assert.equal(back.code, 'ECONNREFUSED');
  assert.equal((back.cause as Error).name, 'TypeError');

  const failure = roundTrip(ApplicationFailure.nonRetryable('step kind x@v1 is not registered', 'UnknownStepKind'));
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.type, 'UnknownStepKind');
  assert.equal(failure.nonRetryable, true);
  assert.equal(roundTrip('a string').message, 'a string');
});

test('trainingIndices is the order the training loop reads, across epochs', async () => {
  await selectBackend('cpu');
  const N = 5;
  const model = Gpt2Model.init(makeConfig('micro', 258), 1);
  const seen: number[] = [];
  const r = await runTrainLoop({
    kind: 'sft',
    model,
    datasetSize: N,
    config: { maxSteps: 4, batchSize: 3, seed: 7 },
    hooks: {},
    microLoss: (indices) => {
      seen.push(...indices);
      return { loss: tf.addN([...model.params.values()].map((v) => tf.sum(v))) as tf.Scalar, metrics: {} };
    },
  });
  r.dispose();
  model.dispose();
  assert.deepEqual(trainingIndices(N, 7, 4, 3), seen);
  assert.equal(firstUses(seen).length, N, '12 reads of 5 examples touch every one');
  assert.deepEqual(firstUses([3, 1, 3, 2, 1]), [3, 1, 2]);
  // The lazy token count agrees with the array form.
  const lengths = [1, 10, 100, 1000, 10000];
  assert.deepEqual(
    tokensForSteps((i) => lengths[i]!, 7, 4, 3, N),
    tokensForSteps(lengths, 7, 4, 3),
  );
});

test('telemetry text: backend and peak memory', () => {
  assert.equal(telemetryText(undefined), '');
  assert.equal(telemetryText({ backend: 'wasm', pid: 1, rssMb: 200, peakRssMb: 312.4 }), 'wasm 312MB');
  assert.equal(
    telemetryText({ backend: 'tensorflow', pid: 1, rssMb: 900, peakRssMb: 2048, gpuMemoryMb: 512 }),
    'tensorflow 2.0GB gpu 512MB',
  );
});
