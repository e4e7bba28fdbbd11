/**
 * Datasets in the store: reading an artifact's rows (formats/ does the parsing) and writing
 * rows as a JSONL artifact, both streaming.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asyncBufferFromFile } from 'hyparquet';
import { encodeJsonl, readDataset, type DatasetStream, type ReadOptions, type Spool } from '../formats/index.js';
import type { ArtifactRef, ArtifactStore, PutMeta } from './artifacts.js';

/** A Parquet dataset waits in a temporary file while it is read: it can be larger than memory. */
export const tempFileSpool: Spool = async (bytes) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bpoflow-parquet-'));
  const release = () => rm(dir, { recursive: true, force: true });
  try {
    const file = path.join(dir, 'data.parquet');
    await pipeline(Readable.from(bytes), createWriteStream(file));
    return { file: await asyncBufferFromFile(file), release };
  } catch (e) {
    await release();
    throw e;
  }
};

/** Read a dataset artifact (or plain object) from the store as a verified stream of records. */
export async function readJsonl(store: ArtifactStore, uri: string, opts: ReadOptions = {}): Promise<DatasetStream> {
  const stream = await store.open(uri);
  return readDataset(stream, { source: uri, spool: tempFileSpool, ...opts });
}

/** Stream rows to a JSONL artifact. Default kind 'dataset', mediaType application/x-ndjson. */
export async function writeJsonl(
  store: ArtifactStore,
  target: string,
  rows: AsyncIterable<unknown> | Iterable<unknown>,
  meta: Partial<PutMeta> = {},
): Promise<ArtifactRef & { rows: number }> {
  const counter = { rows: 0 };
  const attributes = () => ({
    ...(typeof meta.attributes === 'function' ? meta.attributes() : (meta.attributes ?? {})),
    rows: counter.rows,
  });
  const ref = await store.put(target, Readable.from(encodeJsonl(rows, counter)), {
    kind: 'dataset',
    mediaType: 'application/x-ndjson',
    ...meta,
    attributes,
  } as PutMeta);
  return { ...ref, rows: counter.rows };
}
