/**
 * A 1 GiB artifact streams up and down, byte-identical. Its peak RSS (target < 300 MB) is a
 * benchmark: `npm run bench -- store` (bench/store.ts, the same child process).
 * Size can be lowered with BPOFLOW_STORE_LARGE_MB for quick runs (default 1024).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { integrationStore, uniqueRun } from '../fixtures/store/env.js';

const child = fileURLToPath(new URL('../fixtures/store/large-child.js', import.meta.url));
const MB = Number(process.env.BPOFLOW_STORE_LARGE_MB || 1024);

test(`${MB} MiB artifact streams up and down byte-identical`, { timeout: 600_000 }, async () => {
  const store = integrationStore();
  await store.ensureBucket();
  const uri = store.runUri(uniqueRun('large'), 'gen', 'big.bin');
  const { stdout } = await promisify(execFile)(process.execPath, [child, uri, String(MB)], {
    env: process.env,
    maxBuffer: 1 << 20,
  });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  const rssMB = (r.peakRssBytes as number) / 1024 / 1024;
  console.log(
    `large artifact: ${MB} MiB up ${(r.uploadMBps as number).toFixed(1)} MB/s, down ${(r.downloadMBps as number).toFixed(1)} MB/s, peak RSS ${rssMB.toFixed(1)} MiB`,
  );
  assert.equal(r.size, MB * 1024 * 1024);
  assert.equal(r.downloaded, MB * 1024 * 1024);
  assert.equal(r.uploadedSha256, r.expected);
  assert.equal(r.downloadedSha256, r.expected);
  await store.remove(uri);
});
