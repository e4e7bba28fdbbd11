import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile } from '../../../spec/compile.js';
import { canonicalJson } from '../../../spec/canonical-json.js';
import { parseDuration } from '../../../spec/duration.js';
import { noopChain } from '../../../bench/noop-chain.js';
import { closest, editDistance } from '../../../spec/suggest.js';
import { formatPath } from '../../../spec/yaml-path.js';
import { testCatalog } from './support.js';

describe('durations', () => {
  it('parses Go-style durations to milliseconds', () => {
    assert.deepEqual(
      ['500ms', '30s', '5m', '2h', '1h30m', '1.5s', '1d'].map(parseDuration),
      [500, 30_000, 300_000, 7_200_000, 5_400_000, 1500, 86_400_000],
    );
    assert.deepEqual(['', '30', '5 m', 'm', '1x'].map(parseDuration), [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('suggestions', () => {
  it('measures swaps as one edit', () => {
    assert.equal(editDistance('stpes', 'steps'), 1);
    assert.equal(editDistance('nedds', 'needs'), 1);
  });
  it('suggests only close names', () => {
    assert.equal(closest('nedds', ['needs', 'uses', 'with']), 'needs');
    assert.equal(closest('Needs', ['needs']), 'needs');
    assert.equal(closest('q', ['a', 'b']), undefined);
    assert.equal(closest('timeout', ['needs', 'uses']), undefined);
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level and drops undefined', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { f: 1, e: 2 }], c: undefined } }),
      '{"a":{"d":[3,{"e":2,"f":1}]},"b":1}',
    );
  });
});

describe('YAML paths', () => {
  it('reads like the file', () => {
    assert.equal(formatPath(['steps', 0, 'with', 'data']), 'steps[0].with.data');
    assert.equal(formatPath(['params', 'a b']), 'params["a b"]');
  });
});

describe('noopChain', () => {
  it('generates a valid chain of n test.noop steps', () => {
    const r = compile(noopChain(100), { file: 'chain.yaml', catalog: testCatalog() });
    assert.deepEqual(r.problems, []);
    const steps = r.plan!.steps;
    assert.equal(steps.length, 100);
    assert.deepEqual(
      steps.map((s) => s.id),
      Array.from({ length: 100 }, (_, i) => `s${i + 1}`),
    );
    assert.deepEqual(steps[99]!.needs, ['s99']);
    assert.equal(steps[0]!.cache, false);
    assert.deepEqual(r.plan!.outputs, { last: { ref: ['steps', 's100', 'outputs', 'value'] } });
  });
});
