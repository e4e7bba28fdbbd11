/**
 * A writer killed (SIGKILL) in the middle of a large upload leaves nothing visible, and gc
 * removes its leftovers (incomplete multipart upload / tmp objects / orphan blobs).
 * Uses its own bucket so gc with a zero grace period cannot disturb other tests.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { integrationStore, uniqueRun } from '../fixtures/store/env.js';

const child = fileURLToPath(new URL('../fixtures/store/upload-child.js', import.meta.url));

test('writer killed mid-upload leaves nothing visible; gc removes the leftovers', { timeout: 180_000 }, async () => {
  const base = integrationStore();
  const bucket = `${base.bucket}-gc`.slice(0, 63);
  const store = integrationStore({ bucket });
  await store.ensureBucket();
  const run = uniqueRun('crash');
  const target = store.runUri(run, 'ingest', 'huge.jsonl');

  // an orphan blob of our own, to show gc collects blobs as well (published then manifest removed)
  const orphan = await store.put(store.runUri(run, 'ingest', 'orphan.bin'), Buffer.from(`orphan ${run}`), {
    kind: 'other',
  });
  const orphanBlob = (await store.manifest(orphan.uri)).blob!;
  await store.remove(orphan.uri);
  const kept = await store.put(store.runUri(run, 'ingest', 'kept.bin'), Buffer.from(`kept ${run}`), { kind: 'other' });

  const p = spawn(process.execPath, [child, target, bucket], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  let sent = 0;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    p.on('exit', (code, signal) => resolve({ code, signal })),
  );
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = [...buf.matchAll(/PROGRESS (\d+)/g)].pop();
      if (m) sent = Number(m[1]);
      // several parts are on the server by the time 40 MiB have been produced
      if (sent >= 40 * 1024 * 1024) resolve();
      if (buf.includes('DONE')) reject(new Error('child finished before it could be killed'));
    });
    p.on('exit', () => reject(new Error('child exited early')));
  });
  p.kill('SIGKILL');
  const { signal } = await exit;
  assert.equal(signal, 'SIGKILL');

  // nothing visible at the target
  assert.equal(await store.exists(target), false);
  await assert.rejects(store.open(target), /not found/);
  const visible = await store.list(`s3://${bucket}/runs/${run}/`);
  assert.deepEqual(
    visible.map((e) => e.key),
    [`runs/${run}/ingest/kept.bin`],
  );

  // leftovers exist: an incomplete multipart upload under tmp/
  const uploads = await store.listIncompleteUploads(bucket, 'tmp/');
  assert.ok(uploads.length >= 1, 'expected the killed writer to leave an incomplete upload');

  // gc with default grace keeps young leftovers
  const dry = await store.gc({ dryRun: true });
  assert.ok(
    !dry.removed.some((r) => r.includes(uploads[0]!.uploadId)),
    'young upload must be kept within the grace period',
  );

  // S3 timestamps have 1 s resolution
  await new Promise((r) => setTimeout(r, 1100));
  const res = await store.gc({ graceMs: 0 });
  for (const u of uploads)
    assert.ok(res.removed.includes(`s3://${bucket}/${u.key}?uploadId=${u.uploadId}`), `upload ${u.key} not aborted`);
  assert.ok(res.removed.includes(`s3://${bucket}/${orphanBlob}`), 'orphan blob not removed');
  assert.deepEqual(await store.listIncompleteUploads(bucket, 'tmp/'), []);
  assert.deepEqual(await store.list(`s3://${bucket}/tmp/`), []);
  // referenced data survives gc
  assert.equal((await store.readBytes(kept.uri)).toString(), `kept ${run}`);
  assert.equal(await store.exists(`s3://${bucket}/${orphanBlob}`), false);
});
