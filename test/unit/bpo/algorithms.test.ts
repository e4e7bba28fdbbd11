// Pure BPO algorithms: k-means++, projection, Adam preconditioning, scores, allocation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  adamPrecondition,
  allocate,
  AllocationError,
  cosine,
  depthSelection,
  groupOf,
  groupUsefulness,
  informativeness,
  magnitudeScores,
  kmeans,
  norm,
  normalize,
  optimizationDirection,
  pairScores,
  pca2,
  promptScores,
  rademacherProject,
  selectRepresentatives,
  sketchProject,
  usefulness,
  warmupMoments,
} from '../../../ml/bpo/index.js';
import { Rng } from '../../../ml/rng.js';

function blobs(seed: number, centres: number[][], per: number, spread = 0.05): number[][] {
  const rng = new Rng(seed);
  const out: number[][] = [];
  for (let i = 0; i < per; i++) for (const c of centres) out.push(c.map((x) => x + spread * rng.normal()));
  return out;
}

describe('k-means++', () => {
  const centres = [
    [0, 0, 0],
    [5, 5, 0],
    [0, 5, 5],
    [5, 0, 5],
  ];
  const pts = blobs(3, centres, 25);

  test('recovers well-separated clusters exactly', () => {
    const r = kmeans(pts, { k: 4, seed: 7 });
    // Points i and j (same blob ⇔ same index mod 4) share a cluster iff they share a blob.
    for (let i = 0; i < pts.length; i++)
      for (let j = 0; j < 8; j++) assert.equal(r.assign[i] === r.assign[j], i % 4 === j % 4, `points ${i}, ${j}`);
    for (const c of r.centroids) assert.ok(centres.some((m) => Math.hypot(...m.map((x, d) => x - c[d]!)) < 0.1));
    assert.ok(r.inertia < pts.length * 3 * 0.05 ** 2 * 2);
  });

  test('is deterministic for a seed, and the seed matters for the init', () => {
    const a = kmeans(pts, { k: 4, seed: 11 });
    const b = kmeans(pts, { k: 4, seed: 11 });
    assert.deepEqual(a.assign, b.assign);
    assert.deepEqual(
      a.centroids.map((c) => [...c]),
      b.centroids.map((c) => [...c]),
    );
    const noisy = blobs(5, [[0, 0]], 60, 1);
    const c1 = kmeans(noisy, { k: 5, seed: 1, maxIter: 1 });
    const c2 = kmeans(noisy, { k: 5, seed: 2, maxIter: 1 });
    assert.notDeepEqual(c1.assign, c2.assign);
  });

  test('caps k at the number of points and handles duplicates', () => {
    const r = kmeans(
      [
        [1, 1],
        [1, 1],
        [1, 1],
      ],
      { k: 10, seed: 0 },
    );
    assert.equal(r.k, 3);
    assert.equal(r.assign.length, 3);
    assert.ok(r.dist2.every((d) => d === 0));
  });
});

describe('Rademacher projection', () => {
  test('preserves squared norms in expectation and is seeded', () => {
    const rng = new Rng(1);
    const D = 400;
    const x = Array.from({ length: D }, () => rng.normal());
    const n2 = norm(x) ** 2;
    let sum = 0;
    const seeds = 200;
    for (let s = 0; s < seeds; s++) sum += norm(rademacherProject([x], 64, s)[0]!) ** 2;
    const ratio = sum / seeds / n2;
    assert.ok(Math.abs(ratio - 1) < 0.06, `E‖Rx‖²/‖x‖² = ${ratio}`);
    assert.deepEqual([...rademacherProject([x], 64, 9)[0]!], [...rademacherProject([x], 64, 9)[0]!]);
    assert.notDeepEqual([...rademacherProject([x], 64, 9)[0]!], [...rademacherProject([x], 64, 10)[0]!]);
  });

  test('is linear and roughly preserves angles at moderate d', () => {
    const rng = new Rng(2);
    const a = Array.from({ length: 300 }, () => rng.normal());
    const b = a.map((v) => v + 0.5 * rng.normal());
    const [pa, pb, pab] = rademacherProject([a, b, a.map((v, i) => v + b[i]!)], 512, 3);
    for (let j = 0; j < 512; j++) assert.ok(Math.abs(pab![j]! - pa![j]! - pb![j]!) < 1e-3);
    assert.ok(Math.abs(cosine(pa!, pb!) - cosine(a, b)) < 0.08);
  });
});

describe('count-sketch projection', () => {
  test('preserves squared norms in expectation, is linear, seeded, and keeps angles at large d', () => {
    const rng = new Rng(4);
    const D = 4000;
    const x = Array.from({ length: D }, () => rng.normal());
    let sum = 0;
    for (let s = 0; s < 200; s++) sum += norm(sketchProject([x], 64, s)[0]!) ** 2;
    const ratio = sum / 200 / norm(x) ** 2;
    assert.ok(Math.abs(ratio - 1) < 0.03, `E‖Sx‖²/‖x‖² = ${ratio}`);
    const b = x.map((v) => v + 0.5 * rng.normal());
    const [pa, pb, pab] = sketchProject([x, b, x.map((v, i) => v + b[i]!)], 1024, 3);
    for (let j = 0; j < 1024; j++) assert.ok(Math.abs(pab![j]! - pa![j]! - pb![j]!) < 1e-3);
    assert.ok(Math.abs(cosine(pa!, pb!) - cosine(x, b)) < 0.05);
    assert.deepEqual([...sketchProject([x], 32, 9)[0]!], [...sketchProject([x], 32, 9)[0]!]);
    assert.notDeepEqual([...sketchProject([x], 32, 9)[0]!], [...sketchProject([x], 32, 10)[0]!]);
  });
});

describe('Adam preconditioning', () => {
  test('matches the LESS formula on constructed moments', () => {
    const grads = [
      [1, -2, 0.5],
      [1, -2, 0.5],
    ];
    const m = warmupMoments(grads, 1);
    // Bias-corrected moments of a constant gradient are the gradient and its square.
    assert.ok(m.m.every((v, i) => Math.abs(v - grads[0]![i]!) < 1e-9));
    assert.ok(m.v.every((v, i) => Math.abs(v - grads[0]![i]! ** 2) < 1e-9));
    const g = [2, 1, 0];
    const out = adamPrecondition(g, m);
    g.forEach((gi, i) => {
      const m1 = 0.9 * m.m[i]! + 0.1 * gi;
      const v1 = 0.999 * m.v[i]! + 0.001 * gi * gi;
      assert.ok(Math.abs(out[i]! - m1 / (Math.sqrt(v1) + 1e-8)) < 1e-5);
    });
    // Scale-free per coordinate: a huge coordinate no longer dominates.
    const big = adamPrecondition([1000, 1], warmupMoments([[1000, 1]], 1));
    assert.ok(Math.abs(big[0]! - big[1]!) < 1e-3);
  });
});

describe('informativeness and usefulness', () => {
  test('on constructed vectors', () => {
    const pts = [normalize([1, 0]), normalize([1, 0.2]), normalize([0, 1])];
    const inf = informativeness(
      pts,
      [0, 0, 1],
      [
        [1, 0.1],
        [0, 1],
      ],
    );
    assert.ok(inf[0]! > 0.99 && inf[1]! > 0.99 && Math.abs(inf[2]! - 1) < 1e-6);
    const farther = informativeness([normalize([1, 1])], [0], [[1, 0]]);
    assert.ok(Math.abs(farther[0]! - Math.SQRT1_2) < 1e-6);
    const dir = optimizationDirection([
      [1, 0],
      [1, 0],
      [0, 2],
    ]);
    assert.ok(Math.abs(norm(dir) - 1) < 1e-6);
    const use = usefulness(
      [
        [1, 0],
        [-1, 0],
        [0, 1],
      ],
      [1, 0],
    );
    assert.deepEqual(
      use.map((u) => Math.round(u * 1e6) / 1e6),
      [1, -1, 0],
    );
    const s = pairScores([0.5, 0.5], [1, -1], { informativeness: 1, usefulness: 2, useUsefulness: true });
    assert.deepEqual(s, [2.5, -1.5]);
    assert.deepEqual(
      pairScores([0.5, 0.5], [1, -1], { informativeness: 1, usefulness: 2, useUsefulness: false }),
      [0.5, 0.5],
    );
    const ps = promptScores(['a', 'b', 'a'], [1, 5, 3]);
    assert.deepEqual(
      [...ps.entries()].map(([k, v]) => [k, v.score, v.pairs]),
      [
        ['a', 2, [0, 2]],
        ['b', 5, [1]],
      ],
    );
    assert.equal(promptScores(['a', 'a'], [1, 3], 'max').get('a')!.score, 3);
  });

  test('distance informativeness ranks the atypical point first; centroid the typical one', () => {
    const pts = [normalize([1, 0]), normalize([1, 0.5]), normalize([1, -0.1])];
    const centroid = informativeness(pts, [0, 0, 0], [[1, 0]]);
    const distance = informativeness(pts, [0, 0, 0], [[1, 0]], 'distance');
    assert.deepEqual(
      distance.map((d, i) => Math.round((d + centroid[i]!) * 1e6) / 1e6),
      [1, 1, 1],
    );
    assert.equal(distance.indexOf(Math.max(...distance)), 1);
    assert.equal(centroid.indexOf(Math.max(...centroid)), 0);
  });

  test('gradient magnitude: z-scores of log-norms, 0 when all equal, weighted into the pair score', () => {
    const z = magnitudeScores([1, Math.E, Math.E ** 2]);
    assert.deepEqual(
      z.map((x) => Math.round(x * 1e6) / 1e6),
      [-1.224745, 0, 1.224745],
    );
    assert.deepEqual(magnitudeScores([2, 2, 2]), [0, 0, 0]);
    const s = pairScores(
      [0, 0, 0],
      undefined,
      { informativeness: 1, usefulness: 1, useUsefulness: false, magnitude: 0.5 },
      z,
    );
    assert.deepEqual(
      s.map((x) => Math.round(x * 1e6) / 1e6),
      [-0.612372, 0, 0.612372],
    );
  });

  test('group usefulness: each point against its own group direction, the overall one as fallback', () => {
    const targets = [
      [1, 0],
      [1, 0.1],
      [0, 1],
    ];
    const use = groupUsefulness(
      [
        [1, 0],
        [1, 0],
        [0, 1],
      ],
      ['a', 'b', 'z'],
      targets,
      ['a', 'a', 'b'],
    );
    assert.ok(use[0]! > 0.99, 'a against the a direction');
    assert.ok(Math.abs(use[1]!) < 1e-6, 'b against the b direction ([0, 1])');
    assert.ok(
      Math.abs(use[2]! - cosine([0, 1], optimizationDirection(targets))) < 1e-6,
      'no z targets: overall direction',
    );
    assert.equal(groupOf(/^(\S+)\s/, 'sort abc='), 'sort');
    assert.equal(groupOf(/\d+/, 'add 12+3='), '12');
    assert.equal(groupOf(/^x/, 'copy a='), '');
  });
});

describe('allocation', () => {
  test('respects the budget, min and max, and follows the weights', () => {
    const rng = new Rng(4);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(rng.next() * 12);
      const hi = Array.from({ length: n }, () => Math.floor(rng.next() * 9));
      const lo = hi.map((h) => Math.min(h, Math.floor(rng.next() * 3)));
      const weights = Array.from({ length: n }, () => rng.next() * 3);
      const sumLo = lo.reduce((a, b) => a + b, 0);
      const sumHi = hi.reduce((a, b) => a + b, 0);
      const budget = sumLo + Math.floor(rng.next() * (sumHi - sumLo + 3));
      const d = allocate({ weights, lo, hi, budget });
      d.forEach((x, i) =>
        assert.ok(
          x >= lo[i]! && x <= hi[i]! && Number.isInteger(x),
          `trial ${trial} item ${i}: ${x} not in [${lo[i]}, ${hi[i]}]`,
        ),
      );
      assert.equal(
        d.reduce((a, b) => a + b, 0),
        Math.min(budget, sumHi),
        `trial ${trial}`,
      );
    }
    assert.deepEqual(allocate({ weights: [1, 3], lo: [0, 0], hi: [10, 10], budget: 8 }), [2, 6]);
    assert.deepEqual(allocate({ weights: [1, 3], lo: [0, 0], hi: [10, 4], budget: 8 }), [4, 4]);
    assert.deepEqual(allocate({ weights: [0, 0, 0], lo: [0, 0, 0], hi: [5, 5, 5], budget: 6 }), [2, 2, 2]);
    assert.throws(() => allocate({ weights: [1, 1], lo: [3, 3], hi: [5, 5], budget: 5 }), AllocationError);
  });

  test('depth selection keeps the best-scoring pairs of each prompt', () => {
    const prompts = ['a', 'a', 'a', 'b', 'b', 'c'];
    const scores = [0.1, 0.9, 0.5, 0.3, 0.2, 1];
    const r = depthSelection(
      prompts,
      scores,
      new Map([
        ['a', 3],
        ['b', 1],
        ['c', 1],
      ]),
      { budget: 4, minDepth: 1, maxDepth: 2 },
    );
    assert.deepEqual(
      r.prompts.map((p) => p.depth),
      [2, 1, 1],
    );
    assert.deepEqual(r.keep, [1, 2, 3, 5]);
  });
});

describe('breadth selection and PCA', () => {
  test('select representatives per cluster, nearest first', () => {
    const pts = blobs(
      8,
      [
        [0, 0],
        [10, 10],
      ],
      10,
      0.5,
    );
    pts.push([0, 0]); // exactly the first blob's centre area
    const r = selectRepresentatives(pts, { k: 2, seed: 1, count: 4 });
    assert.equal(r.selected.length, 4);
    assert.deepEqual(r.quotas.slice().sort(), [2, 2]);
    const byCluster = r.selected.map((i) => r.clusters.assign[i]);
    assert.equal(new Set(byCluster).size, 2);
    const f = selectRepresentatives(pts, { k: 2, seed: 1, fraction: 0.5 });
    assert.equal(f.selected.length, Math.round(pts.length / 2));
  });

  test('pca2 puts the main spread on x', () => {
    const rng = new Rng(1);
    const pts = Array.from({ length: 50 }, () => {
      const t = rng.normal() * 10;
      return [t, t, 0.1 * rng.normal(), 0.1 * rng.normal()];
    });
    const xy = pca2(pts);
    const vx = xy.reduce((a, p) => a + p.x * p.x, 0);
    const vy = xy.reduce((a, p) => a + p.y * p.y, 0);
    assert.ok(vx > 100 * vy);
  });
});
