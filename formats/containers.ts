/**
 * Dataset containers, told apart by their first bytes, never by the file name
 * (an object key rarely says, and HH-RLHF's `.jsonl.gz` read as text is
 * garbage):
 *
 *  - gzip    `1f 8b`: gunzipped as it streams (multi-member files too), then read as JSONL.
 *  - Parquet `PAR1`: its footer is at the end, so the stream is spooled whole ({@link Spool})
 *            and read one row group at a time (hyparquet, pure JS); each row is an object of
 *            its columns. SNAPPY/GZIP/BROTLI/ZSTD/uncompressed pages.
 *  - anything else: JSONL text.
 *
 * Yields raw rows with their 1-based row number (JSONL: the line number;
 * Parquet: the row's index + 1) for formats/read.ts to validate.
 */
import { Readable } from 'node:stream';
import { brotliDecompressSync, createGunzip, gunzipSync } from 'node:zlib';
import type { AsyncBuffer } from 'hyparquet';
import { decodeLines, InvalidUtf8Line, type Chunk } from './lines.js';

export type RawRow =
  { row: number; line: string } | { row: number; invalid: InvalidUtf8Line } | { row: number; value: unknown };

export type Container = 'gzip' | 'parquet' | 'text';

/** A whole-file problem (corrupt gzip, unreadable Parquet): no row of it can be read. */
export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
}

export function sniffContainer(head: Uint8Array): Container {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31)
    return 'parquet';
  return 'text';
}

/** Reads enough of the stream to see its magic bytes; returns them and the stream with nothing lost. */
async function peek(
  source: AsyncIterable<Chunk> | Iterable<Chunk>,
  want = 4,
): Promise<{ head: Uint8Array | null; stream: AsyncGenerator<Chunk> }> {
  const it =
    (source as AsyncIterable<Chunk>)[Symbol.asyncIterator]?.() ??
    toAsync((source as Iterable<Chunk>)[Symbol.iterator]());
  const taken: Chunk[] = [];
  let bytes = 0;
  let ended = false;
  while (bytes < want) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    taken.push(r.value);
    // Text chunks (tests, generators of strings) are already text.
    if (typeof r.value === 'string') return { head: null, stream: replay(taken, it, false) };
    bytes += r.value.length;
  }
  const head = Buffer.concat(taken.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
  return { head, stream: replay(taken, it, ended) };
}

async function* replay(first: Chunk[], rest: AsyncIterator<Chunk>, ended: boolean): AsyncGenerator<Chunk> {
  yield* first;
  if (ended) return;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

async function* toAsync<T>(it: Iterator<T>): AsyncGenerator<T> {
  for (;;) {
    const r = it.next();
    if (r.done) return;
    yield r.value;
  }
}

/** The rows of a dataset stream, whatever its container. */
export async function* rawRows(
  source: AsyncIterable<Chunk> | Iterable<Chunk>,
  opts: { onContainer?: (c: Container) => void; spool?: Spool } = {},
): AsyncGenerator<RawRow> {
  const { head, stream } = await peek(source);
  const container = head ? sniffContainer(head) : 'text';
  opts.onContainer?.(container);
  if (container === 'parquet') {
    yield* parquetRows(stream, opts.spool ?? memorySpool);
    return;
  }
  let text: AsyncIterable<Chunk> = stream;
  if (container === 'gzip') {
    const gunzip = createGunzip();
    const src = Readable.from(stream);
    src.on('error', (e) => gunzip.destroy(e));
    text = src.pipe(gunzip);
  }
  let row = 0;
  try {
    for await (const line of decodeLines(text)) {
      row++;
      yield line instanceof InvalidUtf8Line ? { row, invalid: line } : { row, line };
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (container === 'gzip' && typeof code === 'string' && code.startsWith('Z_'))
      throw new DatasetFormatError(`not a valid gzip stream after line ${row} (${(e as Error).message})`);
    throw e;
  }
}

// BigInt (INT64 columns) is not JSON; scores and ids fit a double.
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

async function zstd(): Promise<(input: Uint8Array) => Uint8Array> {
  const { decompress } = await import('fzstd');
  return (input) => decompress(input);
}

/**
 * Where a Parquet file waits while it is read: its footer is at the end, so the reader needs all
 * of it and seeks. store/datasets.ts spools to a temporary file; the default keeps it in memory.
 */
export interface SpooledFile {
  file: AsyncBuffer;
  release(): Promise<void>;
}
export type Spool = (bytes: AsyncIterable<Chunk>) => Promise<SpooledFile>;

export const memorySpool: Spool = async (bytes) => {
  const chunks: Buffer[] = [];
  for await (const c of bytes) chunks.push(typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c));
  const b = Buffer.concat(chunks);
  return { file: b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer, release: async () => undefined };
};

/** Parquet rows as objects, one row group in memory at a time. */
async function* parquetRows(stream: AsyncIterable<Chunk>, spool: Spool): AsyncGenerator<RawRow> {
  const { parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const { file, release } = await spool(stream);
  try {
    let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
    try {
      metadata = await parquetMetadataAsync(file);
    } catch (e) {
      throw new DatasetFormatError(`not a readable Parquet file (${(e as Error).message})`);
    }
    const unzstd = await zstd();
    const compressors = {
      GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
      BROTLI: (input: Uint8Array) => new Uint8Array(brotliDecompressSync(input)),
      ZSTD: unzstd,
    };
    let start = 0;
    for (const group of metadata.row_groups) {
      const n = Number(group.num_rows);
      let rows: Record<string, unknown>[];
      try {
        rows = (await parquetReadObjects({
          file,
          metadata,
          rowStart: start,
          rowEnd: start + n,
          compressors,
        })) as Record<string, unknown>[];
      } catch (e) {
        throw new DatasetFormatError(`Parquet rows ${start + 1}-${start + n}: ${(e as Error).message}`);
      }
      for (let i = 0; i < rows.length; i++) yield { row: start + i + 1, value: plain(rows[i]) };
      start += n;
    }
  } finally {
    await release();
  }
}
