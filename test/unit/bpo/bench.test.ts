// The BPO benchmark's pure parts: the task families' data and the statistics of its tables.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getVerifier } from '../../../activities/rewards/index.js';
import { FAMILIES, corrupt, familyOf, generateFamilies } from '../../../bench/tasks/families.js';
import { pairedSignFlip, seedSummary } from '../../../bench/stats.js';
import { Rng } from '../../../ml/rng.js';

describe('benchmark task families', () => {
  const data = generateFamilies(1);
  const score = getVerifier('tasks');

  test('the tasks verifier reads every family; right answers score 1, corruptions less', () => {
    assert.equal(score('copy abcde=', 'abcde'), 1);
    assert.equal(score('sort ebcda=', 'abcde'), 1);
    assert.equal(score('reverse abcd=', 'dcba'), 1);
    assert.equal(score('flip abcde=', 'edcba'), 1);
    assert.equal(score('flip abcde=', 'edcbx'), 0.8);
    assert.equal(score('add 523+956=', '1479'), 1);
    assert.equal(score('copy abcde=', 'abcdx'), 0.8);
    assert.equal(getVerifier('copy')('copy abc=', 'ab'), 2 / 3);
    for (const r of data.test) {
      assert.equal(score(r.prompt, r.chosen), 1, r.prompt);
      assert.ok(score(r.prompt, r.rejected) < 1, `${r.prompt} ${r.rejected}`);
    }
    const rng = new Rng(3);
    for (let i = 0; i < 500; i++) {
      const c = corrupt(rng, 'aaaab', 'ab');
      assert.ok(c !== 'aaaab' && c.length === 5, c);
    }
  });

  test('imbalanced preferences: easy families many prompts x 1 pair, hard ones few x many; scored pairs', () => {
    for (const f of FAMILIES) {
      const rows = data.prefs.filter((r) => familyOf(r.prompt) === f.name);
      assert.equal(new Set(rows.map((r) => r.prompt)).size, f.prefPrompts, f.name);
      assert.equal(rows.length, f.prefPrompts * f.pairsPerPrompt, f.name);
      for (const r of rows)
        assert.ok(r.score_chosen! > r.score_rejected! && r.score_chosen === score(r.prompt, r.chosen));
    }
    assert.ok(FAMILIES.some((f) => f.pairsPerPrompt === 1) && FAMILIES.some((f) => f.pairsPerPrompt > 1));
  });

  test('splits are disjoint by prompt, round-robin by family, similar lengths, seeded', () => {
    const prompts = (rows: { prompt: string }[]) => new Set(rows.map((r) => r.prompt));
    const [sft, prefs, val, test_] = [prompts(data.sft), prompts(data.prefs), prompts(data.val), prompts(data.test)];
    for (const p of test_) assert.ok(!sft.has(p) && !prefs.has(p) && !val.has(p), p);
    for (const p of val) assert.ok(!sft.has(p) && !prefs.has(p), p);
    assert.deepEqual(
      data.test.slice(0, FAMILIES.length).map((r) => familyOf(r.prompt)),
      FAMILIES.map((f) => f.name),
    );
    // Every pair costs the same tokens: prompt + answer is 16 characters, wrong answers as long as right ones.
    for (const r of [...data.test, ...data.prefs, ...data.val]) {
      assert.equal(r.prompt.length + r.chosen.length, 16, r.prompt);
      assert.equal(r.rejected.length, r.chosen.length, r.prompt);
    }
    for (const f of FAMILIES) {
      const rows = data.sft.filter((r) => familyOf(r.prompt) === f.name);
      const wrong = rows.filter((r) => score(r.prompt, r.chosen) < 1).length / rows.length;
      assert.equal(rows.length, f.sft);
      // Within 3.5 binomial standard deviations of the family's noise rate.
      const sd = Math.sqrt((f.noise * (1 - f.noise)) / rows.length);
      assert.ok(
        Math.abs(wrong - f.noise) < 3.5 * sd + 0.01,
        `${f.name}: ${wrong} wrong demonstrations, noise ${f.noise}`,
      );
    }
    assert.deepEqual(generateFamilies(1), data);
  });
});

describe('benchmark statistics', () => {
  test('mean and sample std', () => {
    assert.deepEqual(seedSummary([1, 2, 3]), { perSeed: [1, 2, 3], mean: 2, std: 1 });
    assert.equal(seedSummary([5]).std, 0);
  });

  test('paired sign-flip test: a consistent shift is significant, noise is not', () => {
    const rng = new Rng(7);
    const b = Array.from({ length: 60 }, () => rng.next());
    const shifted = b.map((x) => x + 0.05 + 0.01 * rng.normal());
    const t = pairedSignFlip(shifted, b, 2000);
    assert.ok(Math.abs(t.diff - 0.05) < 0.01 && t.p < 0.01, JSON.stringify(t));
    const noise = b.map((x) => x + 0.05 * rng.normal());
    assert.ok(pairedSignFlip(noise, b, 2000).p > 0.05);
    assert.equal(pairedSignFlip([1, 2], [1, 2], 100).p, 1);
    assert.throws(() => pairedSignFlip([1], [1, 2]), /1 vs 2/);
  });
});
