/**
 * A dataset byte stream (JSONL, gzipped JSONL or Parquet) as normalized records, streaming, with
 * a report of what was read. A bad row is `row N: reason` (the line number, or the Parquet row
 * index + 1); blank lines are ignored. Policy `fail` throws {@link DatasetRowError}; `skip`
 * counts it and keeps the first `maxIssues` with an excerpt of the row.
 */
import { rawRows, type Container, type Spool } from './containers.js';
import type { ByteSource, Chunk } from './lines.js';
import {
  DATASET_FORMATS,
  DatasetRowError,
  detectFormat,
  normalizeRow,
  typeName,
  type DatasetFormat,
  type DatasetRecord,
} from './records.js';

export interface RowIssue {
  row: number;
  reason: string;
  /** The start of the row as it was read (for finding it), when kept. */
  excerpt?: string;
}

export type RowPolicy = 'fail' | 'skip';

export interface ReadOptions {
  /** Input format; detected from the first JSON-object row when omitted or 'auto'. */
  format?: DatasetFormat | 'auto';
  /** What to do with a bad row. Default 'fail'. */
  onError?: RowPolicy;
  /** Label used in error messages (e.g. the URI). */
  source?: string;
  /** Keep at most this many issues in the report (the count is always exact). Default 1000. */
  maxIssues?: number;
  /** Where a Parquet file is held while it is read (default: in memory). */
  spool?: Spool;
}

export interface DatasetReport {
  format: DatasetFormat | undefined;
  /** How the bytes were packed: JSONL text, gzipped JSONL or Parquet (by magic bytes). */
  container?: Container;
  /** Non-blank lines seen. */
  rows: number;
  valid: number;
  skipped: number;
  issues: RowIssue[];
}

/** An async iterable of records whose `report` is complete once iteration has finished. */
export interface DatasetStream extends AsyncIterable<DatasetRecord> {
  readonly report: DatasetReport;
}

// Enough of a skipped row to recognise it in skipped.jsonl.
const EXCERPT = 200;

/**
 * Parse a dataset byte stream (JSONL, gzipped JSONL or Parquet) into normalized records
 * (streaming). Iterate the result once; its `report` is final after the loop ends (or after a
 * DatasetRowError under policy 'fail').
 */
export function readDataset(source: ByteSource, opts: ReadOptions = {}): DatasetStream {
  const policy = opts.onError ?? 'fail';
  const maxIssues = opts.maxIssues ?? 1000;
  const report: DatasetReport = {
    format: opts.format && opts.format !== 'auto' ? opts.format : undefined,
    rows: 0,
    valid: 0,
    skipped: 0,
    issues: [],
  };
  if (report.format && !DATASET_FORMATS.includes(report.format)) {
    throw new Error(
      `unknown dataset format ${JSON.stringify(report.format)} (expected ${DATASET_FORMATS.join(', ')} or auto)`,
    );
  }
  let excerpt = '';
  const bad = (row: number, reason: string): void => {
    if (policy === 'fail') throw new DatasetRowError(row, reason, opts.source);
    report.skipped++;
    if (report.issues.length < maxIssues) report.issues.push(excerpt ? { row, reason, excerpt } : { row, reason });
  };
  async function* gen(): AsyncGenerator<DatasetRecord> {
    for await (const raw of rawRows(source as AsyncIterable<Chunk>, {
      onContainer: (c) => (report.container = c),
      ...(opts.spool ? { spool: opts.spool } : {}),
    })) {
      const lineNo = raw.row;
      if ('invalid' in raw) {
        report.rows++;
        excerpt = '';
        bad(lineNo, raw.invalid.reason);
        continue;
      }
      let value: unknown;
      if ('line' in raw) {
        const line = raw.line;
        if (line.trim() === '') continue;
        report.rows++;
        excerpt = line.length > EXCERPT ? `${line.slice(0, EXCERPT)}…` : line;
        try {
          value = JSON.parse(line);
        } catch (e) {
          bad(lineNo, `invalid JSON (${(e as Error).message})`);
          continue;
        }
      } else {
        report.rows++;
        value = raw.value;
        const text = JSON.stringify(value) ?? String(value);
        excerpt = text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…` : text;
      }
      if (!report.format) {
        if (!value || typeof value !== 'object' || Array.isArray(value)) {
          bad(lineNo, `expected a JSON object, got ${typeName(value)}`);
          continue;
        }
        const f = detectFormat(value as Record<string, unknown>);
        if (!f) {
          bad(
            lineNo,
            `cannot detect dataset format from keys [${Object.keys(value as object).join(', ')}] ` +
              `(expected prompt/chosen/rejected, prompt/responses, messages, or HH chosen/rejected)`,
          );
          continue;
        }
        report.format = f;
      }
      let rec: DatasetRecord;
      try {
        rec = normalizeRow(value, report.format, lineNo);
      } catch (e) {
        if (e instanceof DatasetRowError) {
          bad(lineNo, e.reason);
          continue;
        }
        throw e;
      }
      report.valid++;
      yield rec;
    }
  }
  const it = gen();
  return {
    report,
    [Symbol.asyncIterator]: () => it,
  };
}

/** Read and collect every record (for small datasets/tests). */
export async function collect(ds: DatasetStream): Promise<{ records: DatasetRecord[]; report: DatasetReport }> {
  const records: DatasetRecord[] = [];
  for await (const r of ds) records.push(r);
  return { records, report: ds.report };
}
