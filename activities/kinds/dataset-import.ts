// dataset.import@v1: read a dataset from an s3:// URI (a user object or an
// artifact) in any accepted format, normalize it, and write it as a canonical
// JSONL artifact: TRL pairs {prompt, chosen, rejected} (HH transcripts become
// conversational pairs that keep their turns), {prompt, responses}, or
// {messages}. JSONL, gzipped JSONL and Parquet are told apart by their bytes.
// Skipped rows (onError: skip) are listed in skipped.jsonl.
import { writeJsonl, type DatasetFormat, type DatasetRecord, type RowPolicy } from '../../store/datasets.js';
import { BadInput, type StepKind } from '../step-kind.js';
import { loadDataset, producerOf } from '../steps/common.js';
import { MAX_LISTED_ROWS, writeSkippedRows } from '../steps/skipped-rows.js';

export const datasetImport: StepKind = {
  kind: 'dataset.import',
  version: 'v1',
  inline: true,
  async run(ctx, a) {
    const source = String(a.source);
    if (!source.startsWith('s3://')) throw new BadInput(`source must be an s3:// URI (local files are uploaded as pipeline inputs), got "${source}"`);
    const format = (a.format ?? 'auto') as DatasetFormat | 'auto';
    const onError = (a.onError ?? 'fail') as RowPolicy;
    const { records, report } = await loadDataset(ctx, source, format, onError, { maxIssues: MAX_LISTED_ROWS });
    if (records.length === 0) throw new BadInput(`${source}: no valid rows (${report.rows} rows, ${report.skipped} skipped)`);
    const kinds = new Set(records.map((r: DatasetRecord) => r.kind));
    const canonical = kinds.size === 1 ? ({ pair: 'pairs', multi: 'multi', chat: 'chat' } as const)[[...kinds][0]!] : 'mixed';
    const skippedRows = await writeSkippedRows(ctx, report, source);
    const ref = await writeJsonl(ctx.store, ctx.outputUri('data.jsonl'), records, {
      kind: 'dataset',
      producer: producerOf(ctx),
      inputs: [source],
      attributes: {
        format: canonical,
        sourceFormat: report.format,
        container: report.container,
        skipped: report.skipped,
        skippedRows: skippedRows.uri,
        issues: report.issues.slice(0, 100).map(({ row, reason }) => ({ row, reason })),
      },
    });
    ctx.progress({ done: ref.rows, total: report.rows, unit: 'rows' });
    return { data: ref.uri, rows: ref.rows, skipped: report.skipped, skippedRows: skippedRows.uri, format: canonical };
  },
};
