// Bad input against the real stack fails at once and says where: a bundle manifest
// whose file names leave the download directory, a missing bucket on
// `artifacts put`, a malformed dataset row, a missing input object or bucket.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as Minio from 'minio';
import { ArtifactStore, ManifestError, MANIFEST_MEDIA_TYPE, sha256Hex } from '../../store/artifacts.js';
import { artifactsGet } from '../../cli/artifacts.js';
import { resolveStoreConfig } from '../../store/config.js';
import { packageRoot } from '../../spec/package-root.js';
import { integrationStore, uniqueRun } from '../fixtures/store/env.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const fixtures = path.join(packageRoot(), 'test', 'fixtures', 'spec');
let store: ArtifactStore;
const run = uniqueRun('faults');
// The crafted manifests live in a bucket of their own: gc refuses to run over a bucket
// holding a manifest it cannot read, and other test files gc the main bucket.
const evilBucket = `${process.env.BPOFLOW_S3_BUCKET}-traversal`;

before(async () => {
  store = integrationStore();
  await store.ensureBucket();
  await store.ensureBucket(evilBucket);
});

/** A plain minio client, as an adversary with write access to the bucket would use. */
function plainClient(): Minio.Client {
  const c = resolveStoreConfig(process.env);
  return new Minio.Client({
    endPoint: c.endPoint,
    port: c.port,
    useSSL: c.useSSL,
    accessKey: c.accessKey,
    secretKey: c.secretKey,
    region: c.region,
    pathStyle: true,
  });
}

/** Publish a bundle manifest by hand whose only member is called `name`, pointing at a real blob. */
async function craftedBundle(name: string): Promise<string> {
  const payload = Buffer.from('pwned\n');
  const sha = sha256Hex(payload);
  const blob = `blobs/sha256/${sha.slice(0, 2)}/${sha}`;
  const key = `runs/${run}/evil/${sha256Hex(name).slice(0, 12)}`;
  const uri = `s3://${evilBucket}/${key}`;
  const files = { [name]: { sha256: sha, size: payload.length, mediaType: 'text/plain', blob } };
  const manifest = {
    schema: 'bpoflow.artifact/v1',
    uri,
    kind: 'model',
    mediaType: 'application/vnd.bpoflow.bundle',
    size: payload.length,
    sha256: sha,
    files,
    inputs: [],
    createdAt: new Date().toISOString(),
  };
  const c = plainClient();
  await c.putObject(evilBucket, blob, payload, payload.length);
  const body = Buffer.from(JSON.stringify(manifest));
  await c.putObject(evilBucket, key, body, body.length, {
    'Content-Type': MANIFEST_MEDIA_TYPE,
    'x-amz-meta-bpoflow-manifest': 'v1',
  });
  return uri;
}

describe('path traversal in bundle manifests', () => {
  for (const name of ['../../x', 'a/../../../x', '/tmp/x', 'a\\..\\..\\x', 'x\0y']) {
    test(`a member named ${JSON.stringify(name)} is refused and nothing is written outside DIR`, async () => {
      const uri = await craftedBundle(name);
      const parent = mkdtempSync(path.join(tmpdir(), 'bpoflow-traversal-'));
      const dir = path.join(parent, 'a', 'b', 'out');
      await assert.rejects(artifactsGet(uri, dir, { store }), (e: unknown) => {
        assert.ok(e instanceof ManifestError, String(e));
        assert.equal(e.message.split(': file name')[0], `bundle ${uri}`);
        assert.match(e.message, /is not allowed/);
        return true;
      });
      assert.deepEqual(readdirSync(parent), [], 'nothing at all was written');
      assert.equal(existsSync('/tmp/x'), false);
    });
  }

  test('a valid name through a symbolic link already in DIR is refused too', async () => {
    const uri = await craftedBundle('link/x.txt');
    const parent = mkdtempSync(path.join(tmpdir(), 'bpoflow-traversal-'));
    const outside = path.join(parent, 'outside');
    const dir = path.join(parent, 'out');
    mkdirSync(outside);
    mkdirSync(dir);
    symlinkSync(outside, path.join(dir, 'link'));
    await assert.rejects(artifactsGet(uri, dir, { store }), /would be written outside .* \(through a symbolic link\)/);
    assert.deepEqual(readdirSync(outside), []);
  });

  test('putBundle refuses such names before uploading anything', async () => {
    await assert.rejects(
      store.putBundle(store.runUri(run, 'evil', 'write'), { '../x': Buffer.from('a') }, { kind: 'model' }),
      /^UnsafeKeyError: unsafe object key "\.\.\/x": "\.\." segment$/,
    );
  });

  test('a normal bundle still downloads', async () => {
    const ref = await store.putBundle(
      store.runUri(run, 'ok', 'model'),
      { 'config.json': Buffer.from('{}'), 'sub/model.bin': Buffer.from('weights') },
      { kind: 'model' },
    );
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'bpoflow-bundle-')), 'm');
    await artifactsGet(ref.uri, dir, { store });
    assert.deepEqual(readdirSync(dir).sort(), ['config.json', 'sub']);
    assert.deepEqual(readdirSync(path.join(dir, 'sub')), ['model.bin']);
  });
});

test('`artifacts put` to a missing bucket fails in seconds, naming the bucket', async () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'bpoflow-put-')), 'six.txt');
  writeFileSync(file, 'hello\n');
  const started = Date.now();
  const r = await bpoflow(['artifacts', 'put', file, 's3://bpoflow-no-such-bucket/x/six.txt']);
  const ms = Date.now() - started;
  console.log(`store-faults: artifacts put to a missing bucket: exit ${r.code} after ${ms} ms: ${r.stderr.trim()}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /bucket "bpoflow-no-such-bucket" does not exist/);
  assert.doesNotMatch(r.stderr, /Retryable HTTP status/);
  assert.ok(ms < 15_000, `failed in ${ms} ms`);
});

describe('pipelines with bad input', () => {
  let worker: WorkerHandle;
  before(async () => {
    worker = await startWorker(['--queues', 'cpu']);
  });
  after(async () => {
    await worker?.stop();
  });

  test('a malformed dataset row fails on attempt 1, naming the row', async () => {
    const { status, error } = await finish(await startPipeline(path.join(fixtures, 'bad-row.yaml')));
    assert.ok(error, 'the run failed');
    const step = status.steps.find((s) => s.id === 'import')!;
    console.log(`store-faults: bad row: attempts ${step.attempts}: ${step.error?.type}: ${step.error?.message}`);
    assert.equal(step.state, 'failed');
    assert.equal(step.attempts, 1);
    assert.equal(step.error?.type, 'DatasetRowError');
    assert.match(step.error!.message, /^s3:\/\/\S+: row 3: missing "rejected"$/);
  });

  for (const [what, source] of [
    ['object', `s3://${process.env.BPOFLOW_S3_BUCKET}/missing/${run}.jsonl`],
    ['bucket', 's3://bpoflow-no-such-bucket/data.jsonl'],
  ] as const) {
    test(`a missing input ${what} fails in seconds, naming the URI`, async () => {
      const started = Date.now();
      const { status, error } = await finish(
        await startPipeline(path.join(fixtures, 'import-source.yaml'), [`source=${source}`]),
      );
      const ms = Date.now() - started;
      const step = status.steps.find((s) => s.id === 'import')!;
      console.log(
        `store-faults: missing input ${what}: failed after ${ms} ms, attempts ${step.attempts}: ${step.error?.type}: ${step.error?.message}`,
      );
      assert.ok(error, 'the run failed');
      assert.equal(step.state, 'failed');
      assert.ok(step.error!.message.includes(source), step.error!.message);
      assert.match(step.error!.type, /^(ArtifactNotFoundError|BucketNotFoundError)$/);
      assert.ok(ms < 20_000, `failed in ${ms} ms`);
    });
  }
});
