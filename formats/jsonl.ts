/** Normalized records back to JSONL bytes, in their canonical (TRL) shape. */
import type { DatasetRecord } from './records.js';

/** Serialize a normalized record back to its canonical JSONL shape (TRL pairs / multi / messages). */
export function recordToJson(r: DatasetRecord): Record<string, unknown> {
  switch (r.kind) {
    case 'pair':
      return { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected };
    case 'multi':
      return { prompt: r.prompt, responses: r.responses };
    case 'chat':
      return { messages: r.messages };
  }
}

function isRecord(v: unknown): v is DatasetRecord {
  const k = (v as { kind?: unknown })?.kind;
  return (k === 'pair' || k === 'multi' || k === 'chat') && typeof (v as { row?: unknown }).row === 'number';
}

/** Encode an async iterable of rows as JSONL bytes (normalized records → canonical shape). */
export async function* encodeJsonl(
  rows: AsyncIterable<unknown> | Iterable<unknown>,
  counter?: { rows: number },
): AsyncGenerator<Buffer> {
  let batch: string[] = [];
  let bytes = 0;
  for await (const row of rows as AsyncIterable<unknown>) {
    const line = JSON.stringify(isRecord(row) ? recordToJson(row) : row);
    if (line === undefined) throw new Error('cannot serialize undefined as a JSONL row');
    batch.push(line);
    bytes += line.length;
    if (counter) counter.rows++;
    if (bytes >= 1 << 20) {
      yield Buffer.from(batch.join('\n') + '\n', 'utf8');
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length) yield Buffer.from(batch.join('\n') + '\n', 'utf8');
}
