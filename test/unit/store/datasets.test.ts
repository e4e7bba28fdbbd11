// The store's Parquet spool: a temporary file read in row groups, the same rows as in memory,
// and the file gone afterwards whether reading finished or failed.
import assert from 'node:assert/strict';
import { createReadStream, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { collect, DatasetFormatError, readDataset } from '../../../formats/index.js';
import { tempFileSpool } from '../../../store/datasets.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const parquet = path.resolve(here, '../../../../test/fixtures/data/ultrafeedback.parquet');
const spools = (): string[] => readdirSync(tmpdir()).filter((n) => n.startsWith('bpoflow-parquet-'));

test('Parquet through a temporary file: the same records as in memory, nothing left behind', async () => {
  const before = new Set(spools());
  const onDisk = await collect(readDataset(createReadStream(parquet), { onError: 'skip', spool: tempFileSpool }));
  const inMemory = await collect(readDataset(createReadStream(parquet), { onError: 'skip' }));
  assert.equal(onDisk.report.container, 'parquet');
  assert.deepEqual([onDisk.report.valid, onDisk.report.skipped], [4, 1]);
  assert.deepEqual(onDisk.records, inMemory.records);
  assert.deepEqual(
    spools().filter((n) => !before.has(n)),
    [],
  );
});

test('a truncated Parquet file fails clearly and its temporary file is removed', async () => {
  const before = new Set(spools());
  const truncated = Readable.from([readFileSync(parquet).subarray(0, 200)]);
  await assert.rejects(
    collect(readDataset(truncated, { spool: tempFileSpool })),
    (e: unknown) => e instanceof DatasetFormatError,
  );
  assert.deepEqual(
    spools().filter((n) => !before.has(n)),
    [],
  );
});
