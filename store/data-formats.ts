/**
 * Dataset containers, told apart by their first bytes, never by the file name
 * (an object key rarely says, and HH-RLHF's `.jsonl.gz` read as text is
 * garbage):
 *
 *  - gzip    `1f 8b`: gunzipped as it streams (multi-member files too), then read as JSONL.
 *  - Parquet `PAR1`: its footer is at the end, so the stream is spooled to a temporary file
 *            and read one row group at a time (hyparquet, pure JS); each row is an object of
 *            its columns. SNAPPY/GZIP/BROTLI/ZSTD/uncompressed pages.
 *  - anything else: JSONL text.
 *
 * Yields raw rows with their 1-based row number (JSONL: the line number;
 * Parquet: the row's index + 1) for store/datasets.ts to validate.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, createGunzip, gunzipSync } from 'node:zlib';
import { isUtf8 } from 'node:buffer';

type Chunk = Uint8Array | string;

export type RawRow = { row: number; line: string } | { row: number; invalid: InvalidUtf8Line } | { row: number; value: unknown };

export type Container = 'gzip' | 'parquet' | 'text';

/** A whole-file problem (corrupt gzip, unreadable Parquet): no row of it can be read. */
export class DatasetFormatError extends Error {
  override name = 'DatasetFormatError';
}

export function sniffContainer(head: Uint8Array): Container {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x41 && head[2] === 0x52 && head[3] === 0x31) return 'parquet';
  return 'text';
}

// Line readers (UTF-8 checked per line, so a bad byte is a row error, not U+FFFD).

/** Split a byte/string stream into raw lines (LF or CRLF) without buffering more than one line. */
async function* rawLines(source: AsyncIterable<Chunk> | Iterable<Chunk>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  const stripCR = (b: Buffer): Buffer => (b.length > 0 && b[b.length - 1] === 13 ? b.subarray(0, -1) : b);
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    let idx: number;
    while ((idx = buf.indexOf(10, start)) !== -1) {
      let line = buf.subarray(start, idx);
      if (pending.length) {
        pending.push(line);
        line = Buffer.concat(pending);
        pending = [];
      }
      yield stripCR(line);
      start = idx + 1;
    }
    if (start < buf.length) pending.push(buf.subarray(start));
  }
  if (pending.length) {
    const last = stripCR(Buffer.concat(pending));
    if (last.length > 0) yield last;
  }
}

/** A line whose bytes are not valid UTF-8; `byte` is the 1-based offset of the first bad byte. */
export class InvalidUtf8Line {
  constructor(readonly byte: number) {}
  get reason(): string {
    return `invalid UTF-8 at byte ${this.byte} of the line`;
  }
}

/** Offset of the first byte that breaks UTF-8 (RFC 3629: no overlongs, surrogates or > U+10FFFF), or -1. */
export function invalidUtf8At(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return i;
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/**
 * Lines of a byte/string stream, decoded as UTF-8. A line that is not valid UTF-8 comes out as
 * an {@link InvalidUtf8Line} (never with U+FFFD in place of its bytes), so the reader can apply
 * its row policy to it. A byte-order mark at the very start is dropped.
 */
export async function* decodeLines(source: AsyncIterable<Chunk> | Iterable<Chunk>): AsyncGenerator<string | InvalidUtf8Line> {
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let first = true;
  for await (const raw of rawLines(source)) {
    if (!isUtf8(raw)) {
      yield new InvalidUtf8Line(invalidUtf8At(raw) + 1);
    } else {
      const text = decoder.decode(raw);
      yield first && text.startsWith('\uFEFF') ? text.slice(1) : text;
    }
    first = false;
  }
}


/** Reads enough of the stream to see its magic bytes; returns them and the stream with nothing lost. */
async function peek(source: AsyncIterable<Chunk> | Iterable<Chunk>, want = 4): Promise<{ head: Uint8Array | null; stream: AsyncGenerator<Chunk> }> {
  const it = (source as AsyncIterable<Chunk>)[Symbol.asyncIterator]?.() ?? toAsync((source as Iterable<Chunk>)[Symbol.iterator]());
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
export async function* rawRows(source: AsyncIterable<Chunk> | Iterable<Chunk>, opts: { onContainer?: (c: Container) => void } = {}): AsyncGenerator<RawRow> {
  const { head, stream } = await peek(source);
  const container = head ? sniffContainer(head) : 'text';
  opts.onContainer?.(container);
  if (container === 'parquet') {
    yield* parquetRows(stream);
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
    if (container === 'gzip' && typeof code === 'string' && code.startsWith('Z_')) throw new DatasetFormatError(`not a valid gzip stream after line ${row} (${(e as Error).message})`);
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

/** Parquet rows as objects, one row group in memory at a time. */
async function* parquetRows(stream: AsyncIterable<Chunk>): AsyncGenerator<RawRow> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import('hyparquet');
  const dir = await mkdtemp(path.join(tmpdir(), 'bpoflow-parquet-'));
  try {
    const file = path.join(dir, 'data.parquet');
    await pipeline(Readable.from(stream), createWriteStream(file));
    const buf = await asyncBufferFromFile(file);
    let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
    try {
      metadata = await parquetMetadataAsync(buf);
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
        rows = (await parquetReadObjects({ file: buf, metadata, rowStart: start, rowEnd: start + n, compressors })) as Record<string, unknown>[];
      } catch (e) {
        throw new DatasetFormatError(`Parquet rows ${start + 1}-${start + n}: ${(e as Error).message}`);
      }
      for (let i = 0; i < rows.length; i++) yield { row: start + i + 1, value: plain(rows[i]) };
      start += n;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ HH-RLHF turns

const HH_TURN = /(?:^|\n\n)(Human|Assistant):/g;

/**
 * An HH-RLHF transcript fragment as chat messages: `\n\nHuman:` turns are
 * user messages, `\n\nAssistant:` turns assistant messages, each content
 * trimmed. Text before the first marker is an assistant continuation when
 * `leading` says so (a response), else a system message. A trailing empty
 * `Assistant:` (the generation prompt) is dropped.
 */
export function hhMessages(text: string, leading: 'assistant' | 'system'): { role: 'system' | 'user' | 'assistant'; content: string }[] {
  const segs: { role: 'system' | 'user' | 'assistant'; content: string; marked: boolean }[] = [];
  let role: 'system' | 'user' | 'assistant' = leading;
  let marked = false;
  let last = 0;
  for (const m of text.matchAll(HH_TURN)) {
    segs.push({ role, content: text.slice(last, m.index).trim(), marked });
    role = m[1] === 'Human' ? 'user' : 'assistant';
    marked = true;
    last = m.index + m[0].length;
  }
  segs.push({ role, content: text.slice(last).trim(), marked });
  return segs
    .filter((s, i) => (s.marked ? !(i === segs.length - 1 && s.role === 'assistant' && s.content === '') : s.content !== ''))
    .map(({ role: r, content }) => ({ role: r, content }));
}
