// The step errors that must not be retried are named by the store's and the
// datasets' real error classes (a renamed class would silently become retryable).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNonRetryableError } from '../../../activities/failures.js';
import { BadInput } from '../../../activities/step-kind.js';
import {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  BucketNotFoundError,
  ManifestError,
  StoreUnavailableError,
} from '../../../store/artifacts.js';
import { StoreConfigError } from '../../../store/config.js';
import { DatasetRowError } from '../../../formats/index.js';
import { InvalidUriError, UnsafeKeyError } from '../../../store/keys.js';

test('bad input, missing objects and buckets are not retried; S3 outages and integrity errors are', () => {
  for (const e of [
    new BadInput('x'),
    new DatasetRowError(3, 'missing "rejected"', 's3://b/d.jsonl'),
    new ArtifactNotFoundError('s3://b/x'),
    new BucketNotFoundError('nope', 's3://nope/x'),
    new ManifestError('bad'),
    new InvalidUriError('bad'),
    new UnsafeKeyError('../x', '".." segment'),
    new StoreConfigError('none'),
  ]) {
    assert.equal(isNonRetryableError(e), true, e.name);
  }
  for (const e of [
    new StoreUnavailableError('down', 'ECONNREFUSED', 's3://b/x', 40),
    new ArtifactIntegrityError('s3://b/x', 'short'),
    new Error('boom'),
    new TypeError('t'),
  ]) {
    assert.equal(isNonRetryableError(e), false, e.name);
  }
});
