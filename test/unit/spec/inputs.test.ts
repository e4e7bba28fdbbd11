import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPlan } from '../../../spec/hash.js';
import { listLocalInputs, withInputUris } from '../../../spec/inputs.js';
import { HEADER, compileOk, yaml } from './support.js';

const text = yaml(
  ...HEADER,
  'inputs:',
  '  local: { path: data/a.jsonl }',
  '  remote: { uri: "s3://bucket/b.jsonl" }',
  'steps:',
  '  - id: a',
  '    uses: test.noop@v1',
  '    with: { value: "${{ inputs.local }}" }',
);

describe('local inputs', () => {
  it('lists the inputs the CLI must upload', () => {
    const plan = compileOk(text, { file: '/p/x.yaml' });
    assert.deepEqual(listLocalInputs(plan), [{ name: 'local', path: '/p/data/a.jsonl' }]);
  });

  it('substitutes uploaded URIs and recomputes the hash', () => {
    const plan = compileOk(text, { file: '/p/x.yaml' });
    const uploaded = withInputUris(plan, { local: 's3://bucket/sha256/abc' });
    assert.deepEqual(uploaded.inputs, { local: 's3://bucket/sha256/abc', remote: 's3://bucket/b.jsonl' });
    assert.deepEqual(listLocalInputs(uploaded), []);
    assert.notEqual(uploaded.specHash, plan.specHash);
    assert.equal(uploaded.specHash, hashPlan(uploaded));
    assert.equal(plan.inputs.local, 'local:/p/data/a.jsonl', 'the original plan is not modified');
    // The same upload from another checkout location hashes the same.
    const elsewhere = withInputUris(compileOk(text, { file: '/q/x.yaml' }), { local: 's3://bucket/sha256/abc' });
    assert.equal(elsewhere.specHash, uploaded.specHash);
  });

  it('refuses names the plan does not have', () => {
    assert.throws(() => withInputUris(compileOk(text, { file: '/p/x.yaml' }), { nope: 's3://b/k' }), /no input "nope"/);
  });
});
