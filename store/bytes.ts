/** Byte and concurrency helpers shared by the store's modules. */
import type { Readable } from 'node:stream';
import { ArtifactStoreError } from './errors.js';

/** A chunk as a Buffer, without copying when it is one already. */
export const toBuf = (c: Uint8Array | string): Buffer =>
  typeof c === 'string'
    ? Buffer.from(c, 'utf8')
    : Buffer.isBuffer(c)
      ? c
      : Buffer.from(c.buffer, c.byteOffset, c.byteLength);

/** The whole stream in memory; more than `limit` bytes destroys it and fails (a manifest is small). */
export async function readAll(stream: Readable, limit = Infinity): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = toBuf(c as Uint8Array);
    n += b.length;
    if (n > limit) {
      stream.destroy();
      throw new ArtifactStoreError(`object larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, n);
}

/** `fn` over `items` with at most `limit` calls in flight; results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const idx = next++;
      out[idx] = await fn(items[idx]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Run `fn`; an error it throws says first which operation it broke (`publishing s3://…: …`). */
export async function inContext<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(context)) e.message = `${context}: ${e.message}`;
    throw e;
  }
}
