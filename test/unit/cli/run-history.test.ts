// A run's status rebuilt from its recorded history (no worker): the committed
// fixture histories of a failed, a succeeded and a cached run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import proto from '@temporalio/proto';

const { temporal } = proto;
import { packageRoot } from '../../../spec/package-root.js';
import { statusFromHistory } from '../../../cli/run-history.js';

const load = (id: string) =>
  statusFromHistory(
    id,
    temporal.api.history.v1.History.decode(
      readFileSync(join(packageRoot(), 'test', 'fixtures', 'histories', `${id}.pb`)),
    ),
  );

test('a failed run: the failed step, its error and attempts, the step it cancelled', () => {
  const s = load('failing-20261127T083154Z-1ceae4b5');
  assert.equal(s.state, 'failed');
  assert.equal(s.pipeline, 'failing');
  assert.equal(s.error, 'step "broken" failed: BadInput: failing on purpose (attempt 1)');
  assert.deepEqual(
    s.steps.map((x) => [x.id, x.state, x.attempts, x.error]),
    [
      ['flaky', 'succeeded', 3, undefined],
      ['broken', 'failed', 1, { type: 'BadInput', message: 'failing on purpose (attempt 1)' }],
      ['after', 'cancelled', 0, undefined],
    ],
  );
  assert.equal(s.steps[0]!.outputs!.value, 'recovered');
  assert.ok(s.endedAt! > s.startedAt && s.steps[1]!.endedAt! >= s.steps[1]!.startedAt!);
});

test('a succeeded run: steps and outputs from its result', () => {
  const s = load('diamond-20261127T083144Z-33869d99');
  assert.equal(s.state, 'succeeded');
  assert.deepEqual(
    s.steps.map((x) => [x.id, x.state]),
    [
      ['a', 'succeeded'],
      ['b', 'succeeded'],
      ['c', 'succeeded'],
      ['d', 'succeeded'],
    ],
  );
  assert.deepEqual(s.outputs, { d: 'b after a+c' });
  const q = load('quickstart-20261127T083153Z-ebd7ed42');
  assert.equal(q.steps[0]!.state, 'cached');
  assert.equal(q.outputs!.prompts, 15);
});

test('a running run: the history so far (the last events cut off)', () => {
  const h = temporal.api.history.v1.History.decode(
    readFileSync(join(packageRoot(), 'test', 'fixtures', 'histories', 'failing-20261127T083154Z-1ceae4b5.pb')),
  );
  // Up to the second step's start: flaky done, broken running, after pending.
  const cut = h.events!.findIndex(
    (e, i) =>
      i > 0 &&
      e.childWorkflowExecutionStartedEventAttributes &&
      h.events!.slice(0, i).filter((x) => x.childWorkflowExecutionStartedEventAttributes).length === 1,
  );
  const s = statusFromHistory('failing-20261127T083154Z-1ceae4b5', { events: h.events!.slice(0, cut + 1) });
  assert.equal(s.state, 'running');
  assert.deepEqual(
    s.steps.map((x) => [x.id, x.state]),
    [
      ['flaky', 'succeeded'],
      ['broken', 'running'],
      ['after', 'pending'],
    ],
  );
  assert.equal(s.steps[1]!.childId, 'failing-20261127T083154Z-1ceae4b5--broken');
});
