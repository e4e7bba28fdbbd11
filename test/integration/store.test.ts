/**
 * Artifact store against a real S3 server (SeaweedFS), connection from BPOFLOW_S3_* env.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { before, test } from 'node:test';
import {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  ArtifactStore,
  sha256Hex,
  type ArtifactManifest,
} from '../../store/artifacts.js';
import { UnsafeKeyError } from '../../store/keys.js';
import { collect, DatasetRowError } from '../../formats/index.js';
import { readJsonl, writeJsonl } from '../../store/datasets.js';
import { artifactsGc, artifactsGet, artifactsLs, artifactsPut, artifactsShow } from '../../cli/artifacts.js';
import { integrationStore, seededBytes, seededStream, seededSha256, uniqueRun } from '../fixtures/store/env.js';

let store: ArtifactStore;
const run = uniqueRun('core');
const u = (step: string, name: string) => store.runUri(run, step, name);

before(async () => {
  store = integrationStore({ partSize: 5 * 1024 * 1024 });
  await store.ensureBucket();
});

test('round trip: small bytes, multipart stream, local file, JSON are byte-identical', async () => {
  const small = Buffer.from('hello artifact store\n');
  const r1 = await store.put(u('s', 'small.txt'), small, { kind: 'other' });
  assert.equal(r1.sha256, sha256Hex(small));
  assert.equal(r1.size, small.length);
  assert.deepEqual(await store.readBytes(r1.uri), small);

  // 23 MiB through a stream with 5 MiB parts: multipart to tmp/, copy to the content address
  const size = 23 * 1024 * 1024 + 123;
  const r2 = await store.put(u('s', 'big.bin'), seededStream('rt', size, 777_777), {
    kind: 'other',
    mediaType: 'application/octet-stream',
  });
  assert.equal(r2.size, size);
  assert.equal(r2.sha256, seededSha256('rt', size));
  const back = await store.readBytes(r2.uri);
  assert.ok(back.equals(seededBytes('rt', size)), 'multipart round trip differs');
  const m = await store.manifest(r2.uri);
  assert.equal(m.blob, `blobs/sha256/${r2.sha256.slice(0, 2)}/${r2.sha256}`);
  assert.equal(m.kind, 'other');

  const dir = mkdtempSync(path.join(tmpdir(), 'store-it-'));
  const f = path.join(dir, 'data.jsonl');
  writeFileSync(f, '{"a":1}\n{"a":2}\n');
  const r3 = await store.put(u('s', 'from-file.jsonl'), f, { kind: 'dataset' });
  assert.equal((await store.manifest(r3.uri)).mediaType, 'application/x-ndjson');
  const out = path.join(dir, 'down', 'copy.jsonl');
  const d = await store.download(r3.uri, out);
  assert.equal(readFileSync(out, 'utf8'), '{"a":1}\n{"a":2}\n');
  assert.equal(d.sha256, r3.sha256);

  const r4 = await store.putJson(
    u('s', 'metrics.json'),
    { loss: 0.25, steps: [1, 2] },
    { kind: 'metrics', producer: { runId: run, stepId: 's', attempt: 1 } },
  );
  assert.deepEqual(await store.readJson(r4.uri), { loss: 0.25, steps: [1, 2] });
  const m4 = await store.manifest(r4.uri);
  assert.deepEqual(m4.producer, { runId: run, stepId: 's', attempt: 1 });
  assert.equal(m4.mediaType, 'application/json');

  // identical content is stored once (dedup) and still readable from both URIs
  const r5 = await store.put(u('s', 'small-again.txt'), Readable.from([small]), { kind: 'other' });
  assert.equal((await store.manifest(r5.uri)).blob, (await store.manifest(r1.uri)).blob);
  assert.deepEqual(await store.readBytes(r5.uri), small);
});

test('bundles: members listed in the manifest, read back and downloaded as a directory', async () => {
  const files = {
    'config.json': Buffer.from('{"hidden":8}'),
    'model.safetensors': seededBytes('weights', 7 * 1024 * 1024),
    'tokenizer/tokenizer.json': Buffer.from('{"vocab":{}}'),
  };
  const ref = await store.putBundle(u('train', 'model'), files, { kind: 'model' });
  const m = await store.manifest(ref.uri);
  assert.deepEqual(Object.keys(m.files!).sort(), Object.keys(files).sort());
  assert.equal(m.files!['model.safetensors']!.sha256, sha256Hex(files['model.safetensors']));
  assert.equal(
    ref.size,
    Object.values(files).reduce((a, b) => a + b.length, 0),
  );
  const back = await store.readBundle(ref.uri);
  for (const [k, v] of Object.entries(files)) assert.ok(Buffer.from(back[k]!).equals(v), k);
  assert.deepEqual(await store.readJson(ref.uri, { file: 'config.json' }), { hidden: 8 });
  await assert.rejects(store.open(ref.uri), /is a bundle/);
  const dir = mkdtempSync(path.join(tmpdir(), 'store-bundle-'));
  await store.download(ref.uri, path.join(dir, 'm'));
  assert.deepEqual(readFileSync(path.join(dir, 'm', 'tokenizer', 'tokenizer.json')), files['tokenizer/tokenizer.json']);
  await assert.rejects(
    store.putBundle(u('train', 'bad'), { '../x': Buffer.from('1') }, { kind: 'model' }),
    UnsafeKeyError,
  );
});

test('tampered blob is detected on read (ArtifactIntegrityError), also for same-length tampering', async () => {
  const data = seededBytes('tamper', 64 * 1024);
  const ref = await store.put(u('s', 'tamper.bin'), data, { kind: 'other' });
  const m = await store.manifest(ref.uri);
  const evil = Buffer.from(data);
  evil[1000] = evil[1000]! ^ 0xff;
  await store.objects.put(store.bucket, m.blob!, evil);
  await assert.rejects(
    store.readBytes(ref.uri),
    (e: unknown) => e instanceof ArtifactIntegrityError && /sha256 mismatch/.test(e.message),
  );
  // streaming consumer sees the error at the end
  const s = await store.open(ref.uri);
  let got = 0;
  await assert.rejects(
    (async () => {
      for await (const c of s) got += (c as Buffer).length;
    })(),
    ArtifactIntegrityError,
  );
  assert.ok(got > 0 && got <= data.length);
  // truncated blob -> size mismatch
  await store.objects.put(store.bucket, m.blob!, data.subarray(0, 10));
  await assert.rejects(store.readBytes(ref.uri), /expected 65536 bytes, got 10/);
  // download of a tampered artifact leaves no file behind
  const dir = mkdtempSync(path.join(tmpdir(), 'store-tamper-'));
  await assert.rejects(store.download(ref.uri, path.join(dir, 'x.bin')), ArtifactIntegrityError);
  assert.deepEqual(readdirSync(dir), []);
  // missing blob
  await store.objects.remove(store.bucket, m.blob!);
  await assert.rejects(store.readBytes(ref.uri), /blob .* is missing/);
});

test('plain (non-manifest) objects are readable and hashed on read', async () => {
  const key = `uploads/${run}/user-data.jsonl`;
  const body = Buffer.from('{"prompt":"p","chosen":"c","rejected":"r"}\n');
  await store.objects.put(store.bucket, key, body);
  const uri = `s3://${store.bucket}/${key}`;
  assert.ok(await store.exists(uri));
  assert.deepEqual(await store.readBytes(uri), body);
  const s = await store.open(uri);
  for await (const _ of s) void _;
  assert.equal((s as unknown as { sha256: string }).sha256, sha256Hex(body));
  const m = await store.manifest(uri);
  assert.equal(m.sha256, sha256Hex(body));
  assert.equal(m.size, body.length);
  const { records } = await collect(await readJsonl(store, uri));
  assert.equal(records.length, 1);
});

test('not found, reserved and unsafe targets', async () => {
  const missing = u('s', 'does-not-exist');
  assert.equal(await store.exists(missing), false);
  await assert.rejects(store.open(missing), ArtifactNotFoundError);
  await assert.rejects(store.put(`s3://${store.bucket}/blobs/x`, Buffer.from('1'), { kind: 'other' }), /reserved/);
  await assert.rejects(
    store.put(`s3://${store.bucket}/runs/../x`, Buffer.from('1'), { kind: 'other' }),
    UnsafeKeyError,
  );
  await assert.rejects(store.put(u('s', 'x'), Buffer.from('1'), { kind: 'weights' as never }), /unknown artifact kind/);
});

test('lineage of a derived artifact names every input, down to raw inputs', async () => {
  const rawKey = `uploads/${run}/raw.jsonl`;
  await store.objects.put(store.bucket, rawKey, Buffer.from('{"x":1}\n'));
  const raw = `s3://${store.bucket}/${rawKey}`;
  const clean = await store.put(u('prep', 'clean.jsonl'), Buffer.from('{"x":1}\n'), { kind: 'dataset', inputs: [raw] });
  const tok = await store.putJson(u('prep', 'tokenizer.json'), { v: 1 }, { kind: 'other' });
  const model = await store.putBundle(
    u('train', 'model-l'),
    { 'w.bin': Buffer.from('weights') },
    { kind: 'model', inputs: [clean.uri, tok.uri] },
  );
  const report = await store.putJson(
    u('eval', 'report.json'),
    { acc: 0.9 },
    { kind: 'report', inputs: [model.uri, clean.uri] },
  );

  const m = await store.manifest(report.uri);
  assert.deepEqual(m.inputs, [
    { uri: model.uri, sha256: model.sha256 },
    { uri: clean.uri, sha256: clean.sha256 },
  ]);
  const tree = await store.lineage(report.uri);
  const names = new Set<string>();
  const walk = (n: typeof tree): void => {
    names.add(n.uri);
    n.inputs.forEach(walk);
  };
  walk(tree);
  assert.deepEqual([...names].sort(), [report.uri, model.uri, clean.uri, tok.uri, raw].sort());
  const rawNode = tree.inputs[0]!.inputs[0]!.inputs[0]!;
  assert.equal(rawNode.uri, raw);
  assert.equal(rawNode.kind, 'object');
  assert.equal(rawNode.sha256, sha256Hex('{"x":1}\n'));
  // overwrite an input: lineage flags it as changed since use
  await store.putJson(tok.uri, { v: 2 }, { kind: 'other' });
  const t2 = await store.lineage(model.uri);
  assert.equal(t2.inputs.find((n) => n.uri === tok.uri)!.changed, true);
  const shown = await artifactsShow(report.uri, { store });
  assert.match(shown, /Lineage:/);
  assert.ok(shown.includes(raw) && shown.includes(tok.uri));
  await assert.rejects(
    store.put(u('x', 'y'), Buffer.from('1'), { kind: 'other', inputs: [u('nope', 'missing')] }),
    ArtifactNotFoundError,
  );
});

test('list, exists and the CLI functions', async () => {
  const a = await store.put(u('cli', 'a.txt'), Buffer.from('A'), { kind: 'other' });
  await store.putBundle(u('cli', 'b'), { 'x.json': Buffer.from('{}') }, { kind: 'model' });
  const list = await store.list(`s3://${store.bucket}/runs/${run}/cli/`, { details: true });
  assert.deepEqual(
    list.map((e) => e.key),
    [`runs/${run}/cli/a.txt`, `runs/${run}/cli/b`],
  );
  assert.equal((list[0]!.manifest as ArtifactManifest).kind, 'other');
  const ls = await artifactsLs(`s3://${store.bucket}/runs/${run}/cli/`, { store });
  assert.match(ls, /model\[1\]/);
  assert.ok(ls.includes(a.uri));
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await artifactsGet(a.uri, undefined, { store, out });
  assert.equal(Buffer.concat(chunks).toString(), 'A');
  const dir = mkdtempSync(path.join(tmpdir(), 'store-cli-'));
  const f = path.join(dir, `${run}.jsonl`);
  writeFileSync(f, '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}\n');
  const put = await artifactsPut(f, undefined, { store });
  assert.equal(put.uri, `s3://${store.bucket}/uploads/${run}.jsonl`);
  assert.equal((await store.manifest(put.uri)).kind, 'dataset');
  await artifactsGet(put.uri, path.join(dir, 'got.jsonl'), { store });
  assert.ok(existsSync(path.join(dir, 'got.jsonl')));
  const gc = await artifactsGc({ store, dryRun: true });
  assert.match(gc.text, /would remove \d+ object\(s\)/);
});

test('datasets: writeJsonl streams records into an artifact; readJsonl validates them', async () => {
  async function* rows() {
    for (let i = 0; i < 5000; i++)
      yield { kind: 'pair' as const, prompt: `p${i}`, chosen: 'good', rejected: 'bad', row: i + 1 };
  }
  const ref = await writeJsonl(store, u('data', 'pairs.jsonl'), rows(), { producer: { runId: run, stepId: 'data' } });
  assert.equal(ref.rows, 5000);
  const m = await store.manifest(ref.uri);
  assert.equal(m.kind, 'dataset');
  assert.equal(m.attributes?.rows, 5000);
  const ds = await readJsonl(store, ref.uri);
  let n = 0;
  for await (const r of ds) {
    n++;
    if (n === 4321) assert.deepEqual(r, { kind: 'pair', prompt: 'p4320', chosen: 'good', rejected: 'bad', row: 4321 });
  }
  assert.equal(n, 5000);
  assert.equal(ds.report.format, 'pairs');
  const bad = await store.put(
    u('data', 'bad.jsonl'),
    Buffer.from('{"prompt":"p","chosen":"c","rejected":"r"}\n{"prompt":"p","chosen":"c","rejected":1}\n'),
    { kind: 'dataset' },
  );
  await assert.rejects(
    collect(await readJsonl(store, bad.uri)),
    (e: unknown) => e instanceof DatasetRowError && e.row === 2 && e.message.includes(bad.uri),
  );
});

test('S3 errors never leak credentials', async () => {
  const wrong = new ArtifactStore({
    ...store.config.toJSON(),
    accessKey: store.config.accessKey,
    secretKey: 'wrong-secret-zz9',
  } as never);
  const err = await wrong.readBytes(u('s', 'small.txt')).then(
    () => null,
    (e: unknown) => e as Error,
  );
  assert.ok(err, 'expected an authentication error');
  const text = `${err!.message} ${JSON.stringify(err)} ${String(err!.stack)}`;
  assert.ok(!text.includes('wrong-secret-zz9'));
  assert.ok(!text.includes(store.config.secretKey));
  assert.ok(!text.includes(store.config.accessKey), text);
});

test('a source stream failing mid-upload rejects put, aborts the multipart upload and publishes nothing', async () => {
  const target = u('s', 'failing.bin');
  const before = new Set((await store.listIncompleteUploads(store.bucket, 'tmp/')).map((x) => x.uploadId));
  async function* failing() {
    yield* seededStream('fail', 17 * 1024 * 1024); // > 3 parts of 5 MiB: multipart has started
    throw new Error('source exploded');
  }
  await assert.rejects(store.put(target, Readable.from(failing()), { kind: 'other' }), /source exploded/);
  assert.equal(await store.exists(target), false);
  const after = (await store.listIncompleteUploads(store.bucket, 'tmp/')).filter((x) => !before.has(x.uploadId));
  assert.deepEqual(after, [], 'upload of the failed put was not aborted');
});

test('parallel part uploads (uploadConcurrency 3) round-trip byte-identical', async () => {
  const s3 = integrationStore({ partSize: 5 * 1024 * 1024, uploadConcurrency: 3 });
  const size = 31 * 1024 * 1024 + 5;
  const ref = await s3.put(u('s', 'parallel.bin'), seededStream('par', size, 1 << 16), { kind: 'other' });
  assert.equal(ref.sha256, seededSha256('par', size));
  assert.ok((await s3.readBytes(ref.uri)).equals(seededBytes('par', size)));
});
