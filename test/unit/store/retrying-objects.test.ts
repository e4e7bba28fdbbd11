// The one place S3 calls are retried: what is retried, what is not, how a missing bucket behind
// a 500 is found, and what an exhausted budget or a refusal looks like to the caller.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ArtifactStoreError, BucketNotFoundError, StoreUnavailableError } from '../../../store/errors.js';
import type * as S3 from '../../../store/object-store.js';
import { DEFAULT_RESILIENCE, type ResilienceOptions } from '../../../store/resilience.js';
import { RetryingObjects } from '../../../store/retrying-objects.js';

const SECRET = 'sk-very-secret';
const config = { endpointUrl: 'http://s3.test:9000', redact: (s: string) => s.split(SECRET).join('***') };
const fast: ResilienceOptions = { ...DEFAULT_RESILIENCE, retryBudgetMs: 300, initialBackoffMs: 1, maxBackoffMs: 10 };
const err = (message: string, fields: Record<string, unknown>) => Object.assign(new Error(message), fields);

/** An object store whose `stat` answers from a script, one entry per call; the last repeats. */
function scripted(answers: Array<Error | S3.ObjectStat>, bucketThere = true) {
  const calls = { stat: 0, bucketExists: 0 };
  const raw = {
    async stat(): Promise<S3.ObjectStat> {
      const a = answers[Math.min(calls.stat++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    },
    async bucketExists(): Promise<boolean> {
      calls.bucketExists++;
      return bucketThere;
    },
  } as unknown as S3.ObjectStore;
  return { raw, calls };
}
const stat: S3.ObjectStat = { size: 1, lastModified: new Date(0), etag: 'e', contentType: '', metadata: {} };

test('infrastructure errors are retried until the call goes through, and the wait is reported', async () => {
  const { raw, calls } = scripted([
    err('refused', { code: 'ECONNREFUSED' }),
    err('reset', { code: 'ECONNRESET' }),
    stat,
  ]);
  const notices: string[] = [];
  const objects = new RetryingObjects(raw, { ...fast, onRetry: (n) => notices.push(n.what) }, config);
  assert.deepEqual(await objects.stat('b', 'k'), stat);
  assert.equal(calls.stat, 3);
  assert.deepEqual(notices, ['stat s3://b/k', 'stat s3://b/k']); // started waiting; got through
});

test('an error retrying cannot fix fails at once, with its code kept and the credentials redacted', async () => {
  const { raw, calls } = scripted([err(`no key (signed with ${SECRET})`, { code: 'NoSuchKey', statusCode: 404 })]);
  await assert.rejects(new RetryingObjects(raw, fast, config).stat('b', 'k'), (e: unknown) => {
    assert.ok(e instanceof ArtifactStoreError && !(e instanceof StoreUnavailableError), String(e));
    assert.equal(e.code, 'NoSuchKey');
    assert.equal((e as { statusCode?: number }).statusCode, 404);
    assert.equal(e.message, 'stat s3://b/k: no key (signed with ***) (NoSuchKey)');
    return true;
  });
  assert.equal(calls.stat, 1);
});

test('a 500 from a bucket that is not there: the bucket is asked once, and the call fails naming it', async () => {
  const { raw, calls } = scripted([err('Retryable HTTP status: 500', { statusCode: 500 })], false);
  await assert.rejects(new RetryingObjects(raw, fast, config).stat('nope', 'k'), (e: unknown) => {
    assert.ok(e instanceof BucketNotFoundError, String(e));
    assert.match(e.message, /^bucket "nope" does not exist \(s3:\/\/nope\/k\)/);
    return true;
  });
  assert.deepEqual(calls, { stat: 1, bucketExists: 1 });
});

test('a 500 from a bucket that is there is retried for the budget, then S3 is unavailable', async () => {
  const { raw, calls } = scripted([
    err(`Request failed after 0 retries: Error: Retryable HTTP status: 503 ${SECRET}`, {}),
  ]);
  await assert.rejects(new RetryingObjects(raw, fast, config).stat('b', 'k'), (e: unknown) => {
    assert.ok(e instanceof StoreUnavailableError, String(e));
    assert.equal(e.uri, 's3://b/k');
    assert.ok(e.attempts > 2 && e.attempts === calls.stat, `${e.attempts} attempts`);
    assert.match(
      e.message,
      /^S3 at http:\/\/s3\.test:9000 unavailable: stat s3:\/\/b\/k still failing after \d+ s and \d+ attempts/,
    );
    assert.match(e.message, /the server answered HTTP 503 \*\*\*$/);
    return true;
  });
  assert.equal(calls.bucketExists, 1, 'the bucket is asked once, not on every attempt');
});

test("the caller's cancellation comes back as it is, not as a store error", async () => {
  const ac = new AbortController();
  const reason = new Error('step cancelled');
  const { raw } = scripted([err('refused', { code: 'ECONNREFUSED' })]);
  const objects = new RetryingObjects(raw, { ...fast, retryBudgetMs: 10_000, signal: () => ac.signal }, config);
  setTimeout(() => ac.abort(reason), 30);
  await assert.rejects(objects.stat('b', 'k'), (e: unknown) => e === reason);
});
