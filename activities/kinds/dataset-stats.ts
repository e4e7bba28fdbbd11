// dataset.stats@v1: breadth (unique prompts) and depth (pairs per prompt) of a
// preference dataset, with length distributions, as a JSON report artifact.
// Lengths are in characters (Unicode code points), or in tokens of a named
// tokenizer; the report says which. Skipped rows are listed in skipped.jsonl.
import { getTokenizer } from '../../ml/tokenizer.js';
import { type DatasetRecord, type Text } from '../../formats/index.js';
import { StringEnum, Type } from '../kind-schema.js';
import { BadInput, defineKind } from '../step-kind.js';
import { formatArg, ON_ERROR_SKIP_LISTED, onErrorArg, SKIPPED_ROWS_OUTPUT } from '../steps/args.js';
import { loadDataset } from '../steps/common.js';
import { MAX_LISTED_ROWS, writeSkippedRows } from '../steps/skipped-rows.js';

export interface Distribution {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  max: number;
}

export interface DatasetStats {
  format: string | undefined;
  rows: number;
  skipped: number;
  issues: { row: number; reason: string }[];
  breadth: number;
  pairs: number;
  /** depth → number of prompts with that many pairs (responses, for multi-response data). */
  depthHistogram: Record<string, number>;
  depth: Distribution;
  lengths: {
    /** What the numbers count: "characters" (Unicode code points) or "tokens". */
    unit: LengthUnit;
    /** With unit "tokens": the tokenizer that counted them. */
    tokenizer?: string;
    prompt: Distribution;
    chosen: Distribution;
    rejected: Distribution;
    response: Distribution;
  };
}

export type LengthUnit = 'characters' | 'tokens';
export interface LengthMeasure {
  unit: LengthUnit;
  tokenizer?: string;
  of: (text: string) => number;
}
/** Code points, not UTF-16 units: an emoji is one character. */
export const CHARACTERS: LengthMeasure = { unit: 'characters', of: (t) => [...t].length };

export function tokenMeasure(name: string): LengthMeasure {
  const tok = getTokenizer(name);
  return { unit: 'tokens', tokenizer: tok.name, of: (t) => tok.tokenize(t).length };
}

export function distribution(values: number[]): Distribution {
  if (!values.length) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((s, v) => s + v, 0) / sorted.length;
  return {
    count: sorted.length,
    min: sorted[0]!,
    mean: Math.round(mean * 1000) / 1000,
    p50: at(0.5),
    p90: at(0.9),
    max: sorted[sorted.length - 1]!,
  };
}

const textOf = (t: Text): string => (typeof t === 'string' ? t : t.map((m) => `${m.role}: ${m.content}`).join('\n'));

/** Folds records into the report; pure, so the unit tests feed it records directly. */
export function computeStats(
  records: Iterable<DatasetRecord>,
  meta: { format: string | undefined; rows: number; skipped: number; issues: { row: number; reason: string }[] },
  measure: LengthMeasure = CHARACTERS,
): DatasetStats {
  const lenOf = measure.of;
  const depthByPrompt = new Map<string, number>();
  const len = { prompt: [] as number[], chosen: [] as number[], rejected: [] as number[], response: [] as number[] };
  let pairs = 0;
  for (const r of records) {
    if (r.kind === 'chat') {
      const prompt = textOf(r.messages.filter((m) => m.role !== 'assistant'));
      depthByPrompt.set(prompt, (depthByPrompt.get(prompt) ?? 0) + 1);
      len.response.push(...r.messages.filter((m) => m.role === 'assistant').map((m) => lenOf(m.content)));
      continue;
    }
    const prompt = textOf(r.prompt);
    const n = r.kind === 'pair' ? 1 : r.responses.length;
    if (!depthByPrompt.has(prompt)) len.prompt.push(lenOf(prompt));
    depthByPrompt.set(prompt, (depthByPrompt.get(prompt) ?? 0) + n);
    pairs += n;
    if (r.kind === 'pair') {
      len.chosen.push(lenOf(textOf(r.chosen)));
      len.rejected.push(lenOf(textOf(r.rejected)));
    } else {
      len.response.push(...r.responses.map((x) => lenOf(textOf(x.text))));
    }
  }
  const depthHistogram: Record<string, number> = {};
  for (const d of depthByPrompt.values()) depthHistogram[d] = (depthHistogram[d] ?? 0) + 1;
  return {
    ...meta,
    breadth: depthByPrompt.size,
    pairs,
    depthHistogram,
    depth: distribution([...depthByPrompt.values()]),
    lengths: {
      unit: measure.unit,
      ...(measure.tokenizer ? { tokenizer: measure.tokenizer } : {}),
      prompt: distribution(len.prompt),
      chosen: distribution(len.chosen),
      rejected: distribution(len.rejected),
      response: distribution(len.response),
    },
  };
}

export const datasetStats = defineKind({
  kind: 'dataset.stats',
  version: 'v1',
  description: 'Breadth and depth of a preference dataset: unique prompts, pairs per prompt, length distributions.',
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      data: Type.String({ description: 's3:// URI of a preference JSONL artifact' }),
      format: formatArg(
        'pairs: TRL {prompt, chosen, rejected}; multi: {prompt, responses}; chat: {messages}; hh: HH-RLHF transcripts',
      ),
      onError: onErrorArg(ON_ERROR_SKIP_LISTED),
      tokenizer: Type.Optional(
        StringEnum(['byte', 'gpt2'], {
          description:
            "count lengths in this tokenizer's tokens (default: characters, i.e. Unicode code points); " +
            "the report's lengths.unit says which",
        }),
      ),
    },
    { additionalProperties: false },
  ),
  outputs: {
    stats: {
      type: 'artifact',
      description: 'JSON report: breadth, depth histogram, lengths (with their unit)',
      report: 'stats',
    },
    prompts: { type: 'number', description: 'unique prompts (breadth)' },
    pairs: { type: 'number', description: 'preference pairs (or responses, for multi-response data)' },
    skipped: { type: 'number', description: 'bad rows skipped' },
    skippedRows: SKIPPED_ROWS_OUTPUT,
  },
  async run(ctx, args) {
    const uri = args.data;
    let measure = CHARACTERS;
    if (args.tokenizer !== undefined) {
      try {
        measure = tokenMeasure(args.tokenizer);
      } catch (e) {
        throw new BadInput((e as Error).message);
      }
    }
    const { records, report } = await loadDataset(ctx, uri, args.format, args.onError, { maxIssues: MAX_LISTED_ROWS });
    const issues = report.issues.slice(0, 100).map(({ row, reason }) => ({ row, reason }));
    const stats = computeStats(
      records,
      { format: report.format, rows: report.rows, skipped: report.skipped, issues },
      measure,
    );
    const skippedRows = await writeSkippedRows(ctx, report, uri);
    const ref = await ctx.store.putJson(ctx.outputUri('stats.json'), stats, {
      kind: 'metrics',
      producer: { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt },
      inputs: [uri],
    });
    return {
      stats: ref.uri,
      prompts: stats.breadth,
      pairs: stats.pairs,
      skipped: report.skipped,
      skippedRows: skippedRows.uri,
    };
  },
});
