import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../../spec/compile.js';
import { hashPlan } from '../../../spec/hash.js';
import { DEFAULT_RETRY } from '../../../spec/step-settings.js';
import { HEADER, compileOk, testCatalog, yaml } from './support.js';

describe('compile: plan', () => {
  it('substitutes params and keeps run-time references as $expr', () => {
    const plan = compileOk(
      yaml(
        ...HEADER,
        'params:',
        '  sleep: { type: integer, default: 5 }',
        '  tag: { type: string, default: v }',
        'inputs:',
        '  data: { uri: "s3://bucket/data.jsonl" }',
        'steps:',
        '  - id: a',
        '    uses: test.noop@v1',
        '    with: { sleepMs: "${{ params.sleep }}", value: "${{ inputs.data }}" }',
        '  - id: b',
        '    uses: test.noop@v1',
        '    with:',
        '      sleepMs: ${{ params.sleep }}',
        '      value: "${{ params.tag }}-${{ params.sleep }}/${{ steps.a.outputs.value }}"',
        'outputs:',
        '  v: ${{ steps.b.outputs.value }}',
        '  t: ${{ params.tag }}',
      ),
    );
    assert.deepEqual(plan.params, { sleep: 5, tag: 'v' });
    assert.deepEqual(plan.inputs, { data: 's3://bucket/data.jsonl' });
    const [a, b] = plan.steps;
    assert.deepEqual(a!.with, {
      sleepMs: 5,
      value: { $expr: { ref: ['inputs', 'data'] } },
      fail: false,
      errorType: 'TestFailure',
    });
    assert.deepEqual(b!.with.sleepMs, 5);
    assert.deepEqual(b!.with.value, {
      $expr: { concat: [{ lit: 'v-5/' }, { ref: ['steps', 'a', 'outputs', 'value'] }] },
    });
    assert.deepEqual(b!.needs, ['a']);
    assert.deepEqual(plan.outputs, { v: { ref: ['steps', 'b', 'outputs', 'value'] }, t: { lit: 'v' } });
  });

  it('applies --set overrides with type coercion, and params files below them', () => {
    const text = yaml(
      ...HEADER,
      'params:',
      '  n: { type: integer, default: 1 }',
      '  x: { type: number }',
      '  on: { type: boolean, default: false }',
      '  s: { type: string, default: a }',
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '    with: { sleepMs: "${{ params.n }}", value: "${{ params.s }}" }',
    );
    const plan = compileOk(text, { overrides: { n: '7', x: '0.5', on: 'true' }, paramsFile: { s: 'file', n: 3 } });
    assert.deepEqual(plan.params, { n: 7, x: 0.5, on: true, s: 'file' });
    assert.equal(plan.steps[0]!.with.sleepMs, 7);
    assert.equal(plan.steps[0]!.with.value, 'file');
  });

  it('folds conditions that only use params, and keeps the others', () => {
    const plan = compileOk(
      yaml(
        ...HEADER,
        'params:',
        '  beta: { type: number, default: 0.1 }',
        'steps:',
        '  - id: a',
        '    uses: test.noop@v1',
        '    if: ${{ params.beta > 0 }}',
        '  - id: b',
        '    uses: test.noop@v1',
        '    if: params.beta > 1 && true',
        '  - id: c',
        '    uses: test.noop@v1',
        "    if: ${{ steps.a.outputs.value == 'x' || params.beta == 0.1 }}",
        '  - id: d',
        '    uses: test.noop@v1',
        '    if: false',
      ),
    );
    const byId = Object.fromEntries(plan.steps.map((s) => [s.id, s]));
    assert.equal(byId.a!.if, undefined);
    assert.deepEqual(byId.b!.if, { lit: false });
    assert.deepEqual(byId.c!.if, {
      op: '||',
      args: [{ op: '==', args: [{ ref: ['steps', 'a', 'outputs', 'value'] }, { lit: 'x' }] }, { lit: true }],
    });
    assert.deepEqual(byId.c!.needs, ['a'], 'a reference in `if` is a dependency');
    assert.deepEqual(byId.d!.if, { lit: false });
  });

  it('sorts steps topologically, keeping file order among ready steps', () => {
    const plan = compileOk(
      yaml(
        ...HEADER,
        'steps:',
        '  - id: d',
        '    uses: test.noop@v1',
        '    needs: [b, c]',
        '  - id: c',
        '    uses: test.noop@v1',
        '    with: { value: "${{ steps.a.outputs.value }}" }',
        '  - id: b',
        '    uses: test.noop@v1',
        '    needs: a',
        '  - id: a',
        '    uses: test.noop@v1',
        '  - id: e',
        '    uses: test.noop@v1',
      ),
    );
    // Always the ready step that comes first in the file: d becomes ready before e is taken.
    assert.deepEqual(
      plan.steps.map((s) => s.id),
      ['a', 'c', 'b', 'd', 'e'],
    );
    assert.deepEqual(
      plan.steps.map((s) => s.needs),
      [[], ['a'], ['a'], ['b', 'c'], []],
    );
  });

  it('fills settings from built-in defaults, then `defaults`, then the step', () => {
    const plan = compileOk(
      yaml(
        ...HEADER,
        'defaults:',
        '  queue: batch',
        '  retry: { maximumAttempts: 5, initialInterval: 2s }',
        '  timeout: 10m',
        '  cache: false',
        'steps:',
        '  - id: a',
        '    uses: test.noop@v1',
        '  - id: b',
        '    uses: test.shard@v1',
        '    with: { data: "s3://b/k" }',
        '    queue: gpu',
        '    retry: { maximumAttempts: 1, nonRetryableErrorTypes: [Oops] }',
        '    timeout: 1h30m',
        '    heartbeatTimeout: 45s',
        '    cache: true',
        '    shards: 4',
      ),
    );
    const [a, b] = plan.steps;
    assert.deepEqual(
      {
        queue: a!.queue,
        retry: a!.retry,
        timeoutMs: a!.timeoutMs,
        heartbeatTimeoutMs: a!.heartbeatTimeoutMs,
        cache: a!.cache,
        shards: a!.shards,
      },
      {
        queue: 'batch',
        retry: { ...DEFAULT_RETRY, maximumAttempts: 5, initialIntervalMs: 2000 },
        timeoutMs: 600_000,
        heartbeatTimeoutMs: 30_000,
        cache: false,
        shards: 1,
      },
    );
    assert.deepEqual(
      {
        queue: b!.queue,
        retry: b!.retry,
        timeoutMs: b!.timeoutMs,
        heartbeatTimeoutMs: b!.heartbeatTimeoutMs,
        cache: b!.cache,
        shards: b!.shards,
      },
      {
        queue: 'gpu',
        retry: {
          maximumAttempts: 1,
          initialIntervalMs: 2000,
          backoffCoefficient: 2,
          maximumIntervalMs: 60_000,
          nonRetryableErrorTypes: ['Oops'],
        },
        timeoutMs: 5_400_000,
        heartbeatTimeoutMs: 45_000,
        cache: true,
        shards: 4,
      },
    );
  });

  it("uses the kind's queue and the documented defaults when nothing is set", () => {
    const plan = compileOk(yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1'));
    const {
      id,
      kind,
      version,
      with: args,
      needs,
      queue,
      retry,
      timeoutMs,
      heartbeatTimeoutMs,
      cache,
      shards,
    } = plan.steps[0]!;
    assert.deepEqual(
      { id, kind, version, args, needs, queue, retry, timeoutMs, heartbeatTimeoutMs, cache, shards },
      {
        id: 'a',
        kind: 'test.noop',
        version: 'v1',
        args: { sleepMs: 0, fail: false, errorType: 'TestFailure' },
        needs: [],
        queue: 'cpu',
        retry: {
          maximumAttempts: 3,
          initialIntervalMs: 1000,
          backoffCoefficient: 2,
          maximumIntervalMs: 60_000,
          nonRetryableErrorTypes: ['BadInput', 'ValidationError'],
        },
        timeoutMs: 3_600_000,
        heartbeatTimeoutMs: 30_000,
        cache: true,
        shards: 1,
      },
    );
  });

  it('hashes the meaning, not the spelling', () => {
    const one = compileOk(
      yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1', '    with: { value: x, sleepMs: 0 }'),
    );
    const two = compileOk(
      yaml(
        'kind: Pipeline',
        'apiVersion: bpoflow/v1',
        'metadata: { name: t }',
        '# a comment',
        'steps:',
        '  - uses: test.noop@v1',
        '    id: a',
        '    with:',
        '      value: "x"',
      ),
    );
    assert.match(one.specHash, /^[0-9a-f]{64}$/);
    assert.equal(one.specHash, two.specHash);
    assert.equal(one.specHash, hashPlan(one));
    const three = compileOk(yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v1', '    with: { value: y }'));
    assert.notEqual(one.specHash, three.specHash);
  });

  it('changes the hash when an override changes a value', () => {
    const text = yaml(
      ...HEADER,
      'params:',
      '  n: { type: integer, default: 1 }',
      'steps:',
      '  - id: a',
      '    uses: test.noop@v1',
      '    with: { sleepMs: "${{ params.n }}" }',
    );
    assert.notEqual(compileOk(text).specHash, compileOk(text, { overrides: { n: 2 } }).specHash);
    assert.equal(compileOk(text).specHash, compileOk(text, { overrides: { n: '1' } }).specHash);
  });

  it('keeps a local input as local:<absolute path> relative to the YAML file', () => {
    const plan = compileOk(
      yaml(...HEADER, 'inputs:', '  d: { path: ../data/x.jsonl }', 'steps:', '  - id: a', '    uses: test.noop@v1'),
      {
        file: '/srv/pipes/p.yaml',
      },
    );
    assert.deepEqual(plan.inputs, { d: 'local:/srv/data/x.jsonl' });
  });

  it('returns no plan when there is any problem', () => {
    const r = compile(yaml(...HEADER, 'steps:', '  - id: a', '    uses: test.noop@v2'), {
      file: 'p.yaml',
      catalog: testCatalog(),
    });
    assert.equal(r.plan, undefined);
    assert.equal(r.problems.length, 1);
  });
});
