import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertSafeKey,
  blobKey,
  formatUri,
  InvalidUriError,
  parsePrefix,
  parseUri,
  runUri,
  UnsafeKeyError,
} from '../../../store/keys.js';

test('parseUri splits bucket and key', () => {
  assert.deepEqual(parseUri('s3://bpoflow/runs/r1/train/model'), { bucket: 'bpoflow', key: 'runs/r1/train/model' });
  assert.deepEqual(parseUri('s3://my.bucket-1/some/file.jsonl'), { bucket: 'my.bucket-1', key: 'some/file.jsonl' });
  // reserved prefixes parse (blob URIs are addressable), but artifacts cannot be published there
  assert.deepEqual(parseUri('s3://b12/blobs/sha256/ab/x'), { bucket: 'b12', key: 'blobs/sha256/ab/x' });
});

test('parseUri rejects non-s3 and malformed URIs', () => {
  for (const bad of [
    'http://b/k',
    'bpoflow/k',
    's3://',
    's3://bucket',
    's3:///key',
    's3://UPPER/k',
    's3://a/k',
    's3://bucket/',
  ]) {
    assert.throws(
      () => parseUri(bad),
      (e: unknown) => e instanceof InvalidUriError || e instanceof UnsafeKeyError,
      bad,
    );
  }
  assert.throws(() => parseUri('http://b/k'), /not an s3 URI/);
});

test('unsafe keys are rejected with the reason', () => {
  const cases: Array<[string, RegExp]> = [
    ['../etc/passwd', /"\.\." segment/],
    ['runs/r1/../../x', /"\.\." segment/],
    ['runs/./x', /"\." segment/],
    ['/abs/path', /absolute path/],
    ['C:/windows', /drive letter/],
    ['runs//x', /empty path segment at position 2/],
    ['runs/x/', /empty path segment at position 3/],
    ['runs/x\u0000y', /control character/],
    ['runs/x\ny', /control character/],
    ['runs/\u007f', /control character/],
    ['runs\\x', /backslash/],
    ['', /empty key/],
    ['a/'.repeat(600) + 'b', /longer than 1024 bytes/],
    ['blobs/sha256/aa/bb', /reserved/],
    ['tmp/123', /reserved/],
  ];
  for (const [key, re] of cases) {
    assert.throws(
      () => assertSafeKey(key),
      (e: unknown) => e instanceof UnsafeKeyError && re.test(e.message),
      JSON.stringify(key),
    );
  }
  assert.throws(() => parseUri('s3://bpoflow/runs/../x'), UnsafeKeyError);
  assert.throws(() => parseUri('s3://bpoflow//x'), UnsafeKeyError);
  assert.equal(assertSafeKey('runs/r-1/step_2/model.safetensors'), 'runs/r-1/step_2/model.safetensors');
  assert.equal(assertSafeKey('data/..hidden/ok'), 'data/..hidden/ok'); // only whole ".." segments are unsafe
});

test('runUri builds and validates', () => {
  assert.equal(runUri('r1', 'train', 'model', 'bpoflow'), 's3://bpoflow/runs/r1/train/model');
  assert.equal(
    runUri('r1', 'train', 'checkpoints/0000000001', 'bpoflow'),
    's3://bpoflow/runs/r1/train/checkpoints/0000000001',
  );
  assert.throws(() => runUri('..', 'train', 'm', 'bpoflow'), UnsafeKeyError);
  assert.throws(() => runUri('r/1', 'train', 'm', 'bpoflow'), /run id must not contain "\/"/);
  assert.throws(() => runUri('r1', 'train', '../m', 'bpoflow'), UnsafeKeyError);
  assert.throws(() => runUri('r1', '', 'm', 'bpoflow'), /empty step id/);
});

test('parsePrefix, formatUri, blobKey', () => {
  assert.deepEqual(parsePrefix('s3://bk1/runs/r1/', 'def'), { bucket: 'bk1', key: 'runs/r1/' });
  assert.deepEqual(parsePrefix('s3://bk1', 'def'), { bucket: 'bk1', key: '' });
  assert.deepEqual(parsePrefix('runs/', 'def'), { bucket: 'def', key: 'runs/' });
  assert.throws(() => parsePrefix('runs/../', 'def'), UnsafeKeyError);
  assert.equal(formatUri('bk1', 'a/b'), 's3://bk1/a/b');
  const h = 'ab'.padEnd(64, '0');
  assert.equal(blobKey(h), `blobs/sha256/ab/${h}`);
  assert.throws(() => blobKey('xyz'), /not a sha256/);
});
