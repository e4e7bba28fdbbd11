// Verifiers, judge parsing, pair building, uniform depth, OpenAI URL handling.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getVerifier, parseJudgeScore, parseRewardSpec, scoreResponses } from '../../../activities/rewards/index.js';
import { apiKeyFrom, completionsUrl } from '../../../activities/generators/openai.js';
import { buildPairs } from '../../../activities/kinds/bpo-augment.js';
import { uniformDepth } from '../../../activities/kinds/bpo-balance-uniform.js';

describe('verifiers', () => {
  test('addition: digits right-aligned with partial credit', () => {
    const v = getVerifier('addition');
    assert.equal(v('12+34=', '46'), 1);
    assert.equal(v('12+34=', '47'), 0.5);
    assert.equal(v('58+67=', '125\nmore'), 1);
    assert.equal(v('58+67=', '25'), 2 / 3);
    assert.equal(v('58+67=', 'abc'), 0);
  });
  test('reverse and sort: positional credit', () => {
    assert.equal(getVerifier('reverse')('reverse abcd=', 'dcba'), 1);
    assert.equal(getVerifier('reverse')('reverse abcd=', 'dcbx'), 0.75);
    assert.equal(getVerifier('reverse')('reverse abcd=', 'dcbaa'), 0.8);
    assert.equal(getVerifier('sort')('sort dbca=', 'abcd'), 1);
    assert.equal(getVerifier('exact')('x', ' yes ', 'yes'), 1);
    assert.throws(() => getVerifier('nope'));
  });
  test('scoreResponses with a verifier keeps the items shape', async () => {
    const s = await scoreResponses(parseRewardSpec({ type: 'verifier', name: 'reverse' }), [
      { prompt: 'reverse ab=', responses: ['ba', 'ab', 'b'] },
      { prompt: 'reverse abc=', responses: ['cba'] },
    ]);
    assert.deepEqual(s, [[1, 0, 0.5], [1]]);
    assert.throws(() => parseRewardSpec({ type: 'verifier', name: 'eval' }), /reward.name/);
    assert.throws(() => parseRewardSpec({ type: 'python', code: 'x' }), /reward.type/);
  });
});

describe('judge and endpoint helpers', () => {
  test('parseJudgeScore', () => {
    assert.equal(parseJudgeScore('7'), 0.7);
    assert.equal(parseJudgeScore('Score: 12/10'), 1);
    assert.equal(parseJudgeScore('no idea'), undefined);
    assert.equal(parseJudgeScore('3', 5), 0.6);
  });
  test('completionsUrl and apiKeyFrom', () => {
    assert.equal(completionsUrl('http://h:1'), 'http://h:1/v1/chat/completions');
    assert.equal(completionsUrl('http://h:1/v1/'), 'http://h:1/v1/chat/completions');
    assert.equal(completionsUrl('http://h:1/v1/chat/completions'), 'http://h:1/v1/chat/completions');
    assert.equal(apiKeyFrom('MY_KEY', { MY_KEY: 'k' }), 'k');
    assert.equal(apiKeyFrom(undefined, {}), undefined);
    assert.throws(() => apiKeyFrom('MY_KEY', {}), /MY_KEY/);
    assert.throws(() => apiKeyFrom('sk-123 secret', {}), /must name an environment variable/);
  });
});

describe('pairs and uniform depth', () => {
  const r = (text: string, score: number) => ({ text, score });
  test('best-vs-worst and all-pairs with minGap', () => {
    const rs = [r('a', 0.5), r('b', 1), r('c', 0), r('a', 0.5), r('d', 0.5)];
    assert.deepEqual(
      buildPairs(rs, 'best-vs-worst').map((p) => [p.chosen.text, p.rejected.text]),
      [['b', 'c']],
    );
    const all = buildPairs(rs, 'all-pairs').map((p) => [p.chosen.text, p.rejected.text]);
    assert.deepEqual(all, [
      ['b', 'c'],
      ['b', 'a'],
      ['b', 'd'],
      ['a', 'c'],
      ['d', 'c'],
    ]);
    assert.deepEqual(
      buildPairs(rs, 'all-pairs', 0.6).map((p) => [p.chosen.text, p.rejected.text]),
      [['b', 'c']],
    );
    assert.equal(buildPairs([r('a', 1), r('b', 1)], 'best-vs-worst').length, 0);
    assert.equal(buildPairs(rs, 'all-pairs', 0, 2).length, 2);
  });
  test('uniformDepth keeps the top-K gaps per prompt', () => {
    const rows = [
      { prompt: 'p', gap: 0.1 },
      { prompt: 'q', gap: 1 },
      { prompt: 'p', gap: 0.9 },
      { prompt: 'p', gap: 0.5 },
    ];
    assert.deepEqual(uniformDepth(rows, 2), [1, 2, 3]);
    assert.deepEqual(uniformDepth(rows, 1), [1, 2]);
  });
});
