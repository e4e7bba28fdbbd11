// dataset.import@v1: read a dataset from an s3:// URI (a user object or an
// artifact) in any accepted format, normalize it, and write it as a canonical
// JSONL artifact: TRL pairs {prompt, chosen, rejected} (HH transcripts become
// conversational pairs that keep their turns), {prompt, responses}, or
// {messages}. JSONL, gzipped JSONL and Parquet are told apart by their bytes.
// Skipped rows (onError: skip) are listed in skipped.jsonl.
import { writeJsonl } from '../../store/datasets.js';
import { type DatasetRecord } from '../../formats/index.js';
import { Type } from '../kind-schema.js';
import { BadInput, defineKind } from '../step-kind.js';
import { FORMAT_DESCRIPTION, formatArg, ON_ERROR_SKIP_LISTED, onErrorArg, SKIPPED_ROWS_OUTPUT } from '../steps/args.js';
import { loadDataset, producerOf } from '../steps/common.js';
import { MAX_LISTED_ROWS, writeSkippedRows } from '../steps/skipped-rows.js';

export const datasetImport = defineKind({
  kind: 'dataset.import',
  version: 'v1',
  description:
    'Load a dataset from an s3:// URI in any accepted format (auto-detected or named), normalize it and write ' +
    'a canonical JSONL artifact.',
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      source: Type.String({
        pattern: '^s3://',
        description:
          's3:// URI of a JSONL, gzipped JSONL (.jsonl.gz) or Parquet object or artifact, told apart by their bytes ' +
          '(local files: declare them as pipeline inputs)',
      }),
      format: formatArg(`${FORMAT_DESCRIPTION} (kept as conversational pairs)`),
      onError: onErrorArg(ON_ERROR_SKIP_LISTED),
    },
    { additionalProperties: false },
  ),
  outputs: {
    data: {
      type: 'artifact',
      description: 'canonical JSONL: {prompt, chosen, rejected} / {prompt, responses} / {messages}',
    },
    rows: { type: 'number', description: 'rows written' },
    skipped: { type: 'number', description: 'bad rows skipped (onError: skip)' },
    format: { type: 'string', description: 'canonical format written: pairs, multi, chat (or mixed)' },
    skippedRows: SKIPPED_ROWS_OUTPUT,
  },
  async run(ctx, a) {
    const { source } = a;
    const { records, report } = await loadDataset(ctx, source, a.format, a.onError, { maxIssues: MAX_LISTED_ROWS });
    if (records.length === 0)
      throw new BadInput(`${source}: no valid rows (${report.rows} rows, ${report.skipped} skipped)`);
    const kinds = new Set(records.map((r: DatasetRecord) => r.kind));
    const canonical =
      kinds.size === 1 ? ({ pair: 'pairs', multi: 'multi', chat: 'chat' } as const)[[...kinds][0]!] : 'mixed';
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
});
