// Invalid UTF-8 in a dataset row is a row error under the row policy, never U+FFFD.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { collect, DatasetRowError, invalidUtf8At, readDataset, splitLines } from '../../../formats/index.js';

const row = (prompt: string) => Buffer.from(JSON.stringify({ prompt, chosen: 'good', rejected: 'bad' }) + '\n', 'utf8');
// Row 2 carries a lone 0xFF inside its prompt string: the 14th byte of the line (after `{"prompt":"ab`).
const badRow = Buffer.concat([
  Buffer.from('{"prompt":"ab', 'utf8'),
  Buffer.from([0xff]),
  Buffer.from('c","chosen":"good","rejected":"bad"}\n', 'utf8'),
]);
const bytes = Buffer.concat([row('one'), badRow, row('three €')]);
/** Cut into 5-byte chunks, so lines and the multi-byte € straddle chunk boundaries. */
const chunks = (b: Buffer, n = 5): Readable =>
  Readable.from(Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n)));

test('onError fail: invalid UTF-8 fails with the row number and the byte', async () => {
  await assert.rejects(
    collect(readDataset(chunks(bytes), { onError: 'fail', source: 's3://b/data.jsonl' })),
    (e: unknown) => {
      assert.ok(e instanceof DatasetRowError);
      assert.equal(e.row, 2);
      assert.equal(e.message, 's3://b/data.jsonl: row 2: invalid UTF-8 at byte 14 of the line');
      return true;
    },
  );
});

test('onError skip: the invalid row is skipped and counted, the others are read intact', async () => {
  const { records, report } = await collect(readDataset(chunks(bytes), { onError: 'skip' }));
  assert.deepEqual(
    records.map((r) => (r.kind === 'pair' ? r.prompt : '')),
    ['one', 'three €'],
  );
  assert.equal(report.rows, 3);
  assert.equal(report.valid, 2);
  assert.equal(report.skipped, 1);
  assert.deepEqual(report.issues, [{ row: 2, reason: 'invalid UTF-8 at byte 14 of the line' }]);
  assert.ok(!JSON.stringify(records).includes('\uFFFD'));
});

test('a U+FFFD written as real UTF-8 is valid text, not an error', async () => {
  const { records } = await collect(readDataset(chunks(row('x\uFFFDy')), { onError: 'fail' }));
  assert.equal(records[0]!.kind === 'pair' && records[0]!.prompt, 'x\uFFFDy');
});

test('splitLines throws a DatasetRowError for invalid UTF-8 (truncated sequence at the end)', async () => {
  const lines: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const l of splitLines(chunks(Buffer.concat([Buffer.from('ok\n'), Buffer.from([0x61, 0xe2, 0x82])])), {
        source: 'x.jsonl',
      }))
        lines.push(l);
    })(),
    /^DatasetRowError: x\.jsonl: row 2: invalid UTF-8 at byte 2 of the line$/,
  );
  assert.deepEqual(lines, ['ok']);
});

test('a byte-order mark at the start is dropped, CRLF still split', async () => {
  const lines: string[] = [];
  for await (const l of splitLines(
    chunks(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a\r\nb\n')]), 2),
  ))
    lines.push(l);
  assert.deepEqual(lines, ['a', 'b']);
});

test('invalidUtf8At rejects overlongs, surrogates, code points past U+10FFFF and stray continuation bytes', () => {
  assert.equal(invalidUtf8At(Buffer.from('plain € 😀', 'utf8')), -1);
  assert.equal(invalidUtf8At(Buffer.from([0x41, 0xc0, 0xaf])), 1); // overlong "/"
  assert.equal(invalidUtf8At(Buffer.from([0xe0, 0x80, 0xaf])), 0); // overlong 3-byte
  assert.equal(invalidUtf8At(Buffer.from([0xed, 0xa0, 0x80])), 0); // UTF-16 surrogate
  assert.equal(invalidUtf8At(Buffer.from([0xf4, 0x90, 0x80, 0x80])), 0); // > U+10FFFF
  assert.equal(invalidUtf8At(Buffer.from([0x41, 0x80])), 1); // continuation without lead
});
