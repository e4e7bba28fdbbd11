// Dataset containers by magic bytes: a real gzip file (HH-RLHF rows, as
// anthropics/hh-rlhf ships them) and real Parquet files written by pyarrow
// (test/fixtures/data/make_data_fixtures.py), with HH dialogues keeping their
// turns and skipped rows listed with row, reason and excerpt.
import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import {
  collect,
  DatasetFormatError,
  DatasetRowError,
  hhMessages,
  readDataset,
  sniffContainer,
} from '../../../formats/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const data = path.resolve(here, '../../../../test/fixtures/data');
/** Bytes in small chunks, so the magic bytes and lines straddle chunk boundaries. */
const chunked = (b: Buffer, n = 3) =>
  Readable.from(Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n)));

test('sniffs gzip and Parquet by their first bytes', () => {
  assert.equal(sniffContainer(readFileSync(path.join(data, 'hh-sample.jsonl.gz'))), 'gzip');
  assert.equal(sniffContainer(readFileSync(path.join(data, 'ultrafeedback.parquet'))), 'parquet');
  assert.equal(sniffContainer(Buffer.from('{"prompt": 1}\n')), 'text');
});

test('HH-RLHF .jsonl.gz: gunzipped as it streams, dialogues keep their turns, the empty reply is a skipped row', async () => {
  const { records, report } = await collect(
    readDataset(createReadStream(path.join(data, 'hh-sample.jsonl.gz'), { highWaterMark: 64 }), { onError: 'skip' }),
  );
  assert.equal(report.container, 'gzip');
  assert.equal(report.format, 'hh');
  assert.deepEqual([report.rows, report.valid, report.skipped], [4, 3, 1]);
  assert.deepEqual(
    records.map((r) => r.row),
    [1, 2, 4],
  );
  assert.deepEqual(
    report.issues.map(({ row, reason }) => ({ row, reason })),
    [{ row: 3, reason: '"chosen" has an empty response after the shared prompt' }],
  );
  assert.ok(
    report.issues[0]!.excerpt!.startsWith('{"chosen": "\\n\\nHuman: Tell me a secret.'),
    report.issues[0]!.excerpt,
  );
  assert.deepEqual(records[2], {
    kind: 'pair',
    prompt: [
      { role: 'user', content: 'Can you help me write a poem?' },
      { role: 'assistant', content: 'Sure! What about?' },
      { role: 'user', content: 'The sea.' },
    ],
    chosen: [{ role: 'assistant', content: 'Waves fold over waves,\nsalt on the wind.' }],
    rejected: [{ role: 'assistant', content: 'No.' }],
    row: 4,
  });
});

test('gzip is found by content, whatever the name; multi-member gzip reads through; bad rows still fail by default', async () => {
  const bytes = readFileSync(path.join(data, 'hh-sample.jsonl.gz'));
  await assert.rejects(
    collect(readDataset(chunked(bytes))),
    (e: unknown) => e instanceof DatasetRowError && e.row === 3,
  );
  const two = Buffer.concat([
    gzipSync('{"prompt":"a","chosen":"b","rejected":"c"}\n'),
    gzipSync('{"prompt":"d","chosen":"e","rejected":"f"}\n'),
  ]);
  const { records } = await collect(readDataset(chunked(two)));
  assert.deepEqual(
    records.map((r) => (r.kind === 'pair' ? r.prompt : '')),
    ['a', 'd'],
  );
  const corrupt = Buffer.concat([bytes.subarray(0, 40), Buffer.alloc(40, 7)]);
  await assert.rejects(
    collect(readDataset(chunked(corrupt), { onError: 'skip' })),
    (e: unknown) => e instanceof DatasetFormatError && /not a valid gzip stream/.test((e as Error).message),
  );
});

for (const file of ['ultrafeedback.parquet', 'ultrafeedback-zstd.parquet']) {
  test(`Parquet (${file}): rows by row group, conversations kept, the empty row skipped with its number`, async () => {
    const { records, report } = await collect(
      readDataset(createReadStream(path.join(data, file)), { onError: 'skip' }),
    );
    assert.equal(report.container, 'parquet');
    assert.equal(report.format, 'pairs');
    assert.deepEqual([report.rows, report.valid, report.skipped], [5, 4, 1]);
    assert.deepEqual(
      report.issues.map(({ row, reason }) => ({ row, reason })),
      [{ row: 3, reason: '"chosen" must not be empty' }],
    );
    assert.match(report.issues[0]!.excerpt!, /^\{"prompt":"Say something\.","chosen":\[\]/);
    assert.deepEqual(
      records.map((r) => r.row),
      [1, 2, 4, 5],
    );
    // The prompt column repeats the first user turn; the turns are kept once.
    assert.deepEqual(records[3], {
      kind: 'pair',
      prompt: [{ role: 'user', content: 'Ünïcödé prompt 🙂' }],
      chosen: [{ role: 'assistant', content: 'Yes 🙂' }],
      rejected: [{ role: 'assistant', content: 'No' }],
      row: 5,
    });
  });
}

test('a truncated Parquet file is one clear error', async () => {
  const bytes = readFileSync(path.join(data, 'ultrafeedback.parquet'));
  await assert.rejects(
    collect(readDataset(chunked(bytes.subarray(0, 200), 64))),
    (e: unknown) => e instanceof DatasetFormatError && /not a readable Parquet file/.test((e as Error).message),
  );
});

test('hhMessages: turns, a response continuing with more turns, the generation prompt dropped', () => {
  assert.deepEqual(hhMessages('\n\nHuman: hi\n\nAssistant:', 'system'), [{ role: 'user', content: 'hi' }]);
  assert.deepEqual(hhMessages(' sure\n\nHuman: thanks\n\nAssistant: welcome', 'assistant'), [
    { role: 'assistant', content: 'sure' },
    { role: 'user', content: 'thanks' },
    { role: 'assistant', content: 'welcome' },
  ]);
  assert.deepEqual(hhMessages('Context.\n\nHuman: q', 'system'), [
    { role: 'system', content: 'Context.' },
    { role: 'user', content: 'q' },
  ]);
});
