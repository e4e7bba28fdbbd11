// Pure parts of the model-side kinds: the chat template, record → text
// conversion, the by-prompt split, token accounting and promotion decisions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashUnit, recordPrompt, renderChat, toPairs, toSftExamples } from '../../../activities/steps/common.js';
import { splitOf } from '../../../activities/kinds/dataset-split.js';
import { tokensForSteps } from '../../../activities/steps/training.js';
import { beats } from '../../../activities/kinds/model-promote.js';
import { BadInput } from '../../../activities/step-kind.js';
import { loadCatalog } from '../../../spec/catalog.js';
import type { DatasetRecord } from '../../../formats/index.js';

test('chat template', () => {
  assert.equal(
    renderChat([
      { role: 'system', content: 'S' },
      { role: 'user', content: 'hi' },
    ]),
    'System: S\nUser: hi\nAssistant: ',
  );
  assert.equal(renderChat([{ role: 'user', content: 'hi' }], false), 'User: hi\n');
});

test('records become prompts, pairs and SFT examples', () => {
  const recs: DatasetRecord[] = [
    { kind: 'pair', prompt: '1+1=', chosen: '2', rejected: '3', row: 1 },
    {
      kind: 'pair',
      prompt: [{ role: 'user', content: 'hi' }],
      chosen: [{ role: 'assistant', content: 'hello' }],
      rejected: [{ role: 'assistant', content: 'go' }],
      row: 2,
    },
    {
      kind: 'multi',
      prompt: 'p',
      responses: [
        { text: 'a', score: 1 },
        { text: 'b', score: 3 },
        { text: 'c', score: 2 },
      ],
      row: 3,
    },
  ];
  assert.deepEqual(toPairs(recs, 'x'), [
    { prompt: '1+1=', chosen: '2', rejected: '3' },
    // The messages go along for models with their own chat template (ml/chat.ts).
    { prompt: 'User: hi\nAssistant: ', chosen: 'hello', rejected: 'go', messages: [{ role: 'user', content: 'hi' }] },
    { prompt: 'p', chosen: 'b', rejected: 'a' },
  ]);
  const chat: DatasetRecord = {
    kind: 'chat',
    messages: [
      { role: 'user', content: 'q' },
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: 'q2' },
      { role: 'assistant', content: 'a2' },
    ],
    row: 4,
  };
  assert.deepEqual(toSftExamples([...recs, chat], 'x'), [
    { prompt: '1+1=', response: '2' },
    {
      prompt: 'User: hi\nAssistant: ',
      response: 'hello',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'hello' },
      ],
    },
    { prompt: 'p', response: 'b' },
    { prompt: 'User: q\nAssistant: a1\nUser: q2\nAssistant: ', response: 'a2', messages: chat.messages },
  ]);
  assert.equal(recordPrompt(chat), 'User: q\nAssistant: a1\nUser: q2\nAssistant: ');
  assert.throws(() => toPairs([chat], 'x'), BadInput);
});

test('split by prompt: deterministic, seed-dependent, close to the fractions', () => {
  const prompts = Array.from({ length: 2000 }, (_, i) => `prompt ${i}`);
  const a = prompts.map((p) => splitOf(p, 0, 0.8, 0.1));
  assert.deepEqual(
    prompts.map((p) => splitOf(p, 0, 0.8, 0.1)),
    a,
  );
  assert.notDeepEqual(
    prompts.map((p) => splitOf(p, 1, 0.8, 0.1)),
    a,
  );
  const frac = (s: string) => a.filter((x) => x === s).length / a.length;
  assert.ok(
    Math.abs(frac('train') - 0.8) < 0.04 &&
      Math.abs(frac('validation') - 0.1) < 0.03 &&
      Math.abs(frac('test') - 0.1) < 0.03,
  );
  const u = hashUnit('x', 0);
  assert.ok(u >= 0 && u < 1);
});

test('tokensForSteps replays the epoch permutations', () => {
  const lengths = [1, 10, 100, 1000];
  const perStep = tokensForSteps(lengths, 0, 4, 2);
  assert.equal(perStep.length, 4);
  // every 2 steps is one epoch: each example exactly once
  assert.equal(perStep[0]! + perStep[1]!, 1111);
  assert.equal(perStep[2]! + perStep[3]!, 1111);
  assert.deepEqual(tokensForSteps(lengths, 0, 4, 2), perStep);
});

test('promotion decisions', () => {
  assert.equal(beats(0.6, undefined, 'max'), true);
  assert.equal(beats(0.6, 0.5, 'max'), true);
  assert.equal(beats(0.5, 0.5, 'max'), false);
  assert.equal(beats(0.55, 0.5, 'max', 0.1), false);
  assert.equal(beats(0.4, 0.5, 'min'), true);
  assert.equal(beats(0.6, 0.5, 'min'), false);
});

test('the catalog entries of the model kinds compile and fill defaults', () => {
  const catalog = loadCatalog();
  for (const id of [
    'dataset.import',
    'dataset.split',
    'model.sft',
    'bpo.train',
    'eval.preference',
    'eval.generate',
    'model.promote',
  ]) {
    assert.ok(catalog.get(id, 'v1'), `${id}@v1 is in the catalog`);
  }
  const k = catalog.get('bpo.train', 'v1')!;
  const args: Record<string, unknown> = { data: 's3://b/d', model: 'channel://prod' };
  assert.ok(catalog.argsValidator(k)(args));
  assert.equal(args.loss, 'sigmoid');
  assert.equal(args.checkpointEvery, 10);
  const sft = catalog.get('model.sft', 'v1')!;
  assert.equal(catalog.argsValidator(sft)({ data: 's3://b/d' }), false, 'init or model is required');
  assert.equal(catalog.argsValidator(sft)({ data: 's3://b/d', init: {} }), true);
});
