// skipped.jsonl: every row a step skipped (onError: skip), one JSON object per
// line {row, reason, excerpt}, so the user can open it and find each row in
// the source. Written even when empty, so the output always exists.
import { writeJsonl } from '../../store/datasets.js';
import { type DatasetReport, type RowIssue } from '../../formats/index.js';
import type { ArtifactRef } from '../../store/artifacts.js';
import type { StepContext } from '../step-kind.js';
import { producerOf } from './common.js';

/** Issues kept in memory for the artifact (the count in the report is always exact). */
export const MAX_LISTED_ROWS = 100_000;

export async function writeSkippedRows(
  ctx: StepContext,
  report: DatasetReport,
  source: string,
): Promise<ArtifactRef & { rows: number }> {
  const rows: RowIssue[] = report.issues;
  return writeJsonl(ctx.store, ctx.outputUri('skipped.jsonl'), rows, {
    kind: 'report',
    producer: producerOf(ctx),
    inputs: [source],
    attributes: {
      skipped: report.skipped,
      listed: rows.length,
      ...(report.skipped > rows.length ? { truncated: true } : {}),
    },
  });
}
