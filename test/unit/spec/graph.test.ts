import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findCycles, topoSort } from '../../../spec/graph.js';

const needs = (o: Record<string, string[]>) => new Map(Object.entries(o));

describe('graph', () => {
  it('sorts topologically, preferring file order', () => {
    assert.deepEqual(topoSort(['a', 'b', 'c', 'd'], needs({ d: ['b', 'c'], b: ['a'], c: ['a'] })), [
      'a',
      'b',
      'c',
      'd',
    ]);
    assert.deepEqual(topoSort(['d', 'c', 'b', 'a'], needs({ d: ['b', 'c'], b: ['a'], c: ['a'] })), [
      'a',
      'c',
      'b',
      'd',
    ]);
  });

  it('returns undefined on a cycle', () => {
    assert.equal(topoSort(['a', 'b'], needs({ a: ['b'], b: ['a'] })), undefined);
  });

  it('finds one shortest cycle per strongly connected component', () => {
    const g = needs({ a: ['b'], b: ['c', 'a'], c: ['a'], x: ['y'], y: ['x'], z: ['z'] });
    assert.deepEqual(findCycles(['a', 'b', 'c', 'x', 'y', 'z'], g), [
      ['a', 'b', 'a'],
      ['x', 'y', 'x'],
    ]);
  });

  it('handles long chains without cycles', () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `s${i}`);
    const g = needs(Object.fromEntries(ids.slice(1).map((id, i) => [id, [ids[i]!]])));
    assert.deepEqual(findCycles(ids, g), []);
    assert.deepEqual(topoSort([...ids].reverse(), g), ids);
  });
});
