import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HEADER, compileOk, problemLines, yaml } from './support.js';

const PARAMS = [
  'params:',
  '  n: { type: integer, default: 4 }',
  '  q: { type: string, default: gpu }',
  '  t: { type: string, default: 90s }',
];

describe('compile: params in step settings', () => {
  it('folds params into shards, queue, timeouts and retry, from defaults and steps', () => {
    const plan = compileOk(
      yaml(
        ...HEADER,
        ...PARAMS,
        'defaults:',
        '  timeout: "${{ params.t }}"',
        '  retry: { maximumAttempts: "${{ params.n }}" }',
        'inputs:',
        '  lines: { uri: "s3://bucket/lines.txt" }',
        'steps:',
        '  - id: fan',
        '    uses: test.shard@v1',
        '    shards: ${{ params.n }}',
        '    queue: "${{ params.q }}-big"',
        '    heartbeatTimeout: ${{ params.t }}',
        '    with: { data: "${{ inputs.lines }}" }',
      ),
      { overrides: { n: '8' } },
    );
    const step = plan.steps[0]!;
    assert.equal(step.shards, 8);
    assert.equal(step.queue, 'gpu-big');
    assert.equal(step.timeoutMs, 90_000);
    assert.equal(step.heartbeatTimeoutMs, 90_000);
    assert.equal(step.retry.maximumAttempts, 8);
  });

  it('rejects step outputs and unknown params in settings, at their place', () => {
    assert.deepEqual(
      problemLines(
        yaml(
          ...HEADER,
          ...PARAMS,
          'steps:',
          '  - id: a',
          '    uses: test.noop@v1',
          '  - id: b',
          '    uses: test.noop@v1',
          '    shards: ${{ steps.a.outputs.value }}',
          '    timeout: ${{ params.tt }}',
        ),
      ),
      [
        'p.yaml:14:13: steps[1].shards: only params can set this (it is fixed when the run is submitted), not steps.a.outputs.value',
        'p.yaml:15:14: steps[1].timeout: unknown param "tt" (known: n, q, t)',
      ],
    );
  });
});
