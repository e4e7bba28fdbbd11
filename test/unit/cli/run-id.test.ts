// Run ids: readable, free of characters that trouble S3 keys and file names, and
// unique however many runs start in the same second.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runIdFor } from '../../../cli/run-id.js';
import type { Plan } from '../../../spec/plan.js';

const plan = { name: 'quickstart', specHash: '1f2e3d4c5b6a79880011' } as Plan;
const now = new Date('2026-12-01T18:05:37.123Z');

test('a run id names the pipeline, the UTC second and the spec, then a random tag', () => {
  assert.match(runIdFor(plan, now), /^quickstart-20261201T180537Z-1f2e3d4c-[a-z2-9]{8}$/);
  assert.equal(runIdFor(plan, now, 'abcdefgh'), 'quickstart-20261201T180537Z-1f2e3d4c-abcdefgh');
});

test('10,000 ids made in the same millisecond are all distinct and contain no colon', () => {
  const ids = new Set(Array.from({ length: 10_000 }, () => runIdFor(plan, now)));
  assert.equal(ids.size, 10_000);
  for (const id of ids) assert.doesNotMatch(id, /[^a-zA-Z0-9_.-]/);
});
