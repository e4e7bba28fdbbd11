/**
 * Lines of a byte stream, UTF-8 checked one line at a time: a bad byte is that row's error,
 * never U+FFFD in its text. Never holds more than one line.
 */
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { DatasetRowError } from './records.js';

export type Chunk = Uint8Array | string;
export type ByteSource = Readable | AsyncIterable<Chunk> | Iterable<Chunk>;

/** Split a byte/string stream into raw lines (LF or CRLF) without buffering more than one line. */
async function* rawLines(source: AsyncIterable<Chunk> | Iterable<Chunk>): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  const stripCR = (b: Buffer): Buffer => (b.length > 0 && b[b.length - 1] === 13 ? b.subarray(0, -1) : b);
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk, 'utf8')
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
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
  for (let i = 0; i < b.length;) {
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
export async function* decodeLines(
  source: AsyncIterable<Chunk> | Iterable<Chunk>,
): AsyncGenerator<string | InvalidUtf8Line> {
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

/**
 * Split a byte/string stream into lines (LF or CRLF) without buffering more than one line.
 * Invalid UTF-8 throws {@link DatasetRowError} with the line number (`source` labels it).
 */
export async function* splitLines(source: ByteSource, opts: { source?: string } = {}): AsyncGenerator<string> {
  let n = 0;
  for await (const line of decodeLines(source)) {
    n++;
    if (line instanceof InvalidUtf8Line) throw new DatasetRowError(n, line.reason, opts.source);
    yield line;
  }
}
