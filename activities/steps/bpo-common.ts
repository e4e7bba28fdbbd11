// Helpers shared by the bpo.* kinds: pair datasets read with their raw rows
// (so extra columns such as scores survive selection), writing selections, and
// the arguments and outputs of the depth-selection kinds.
import { writeJsonl } from '../../store/datasets.js';
import { normalizeRow, splitLines, type PairRecord } from '../../formats/index.js';
import { AllocationError, depthSelection } from '../../ml/bpo/index.js';
import type { ArtifactRef } from '../../store/artifacts.js';
import { Type, withDefault } from '../kind-schema.js';
import { BadInput, type KindOutput, type StepContext } from '../step-kind.js';
import { completionText, producerOf, promptText } from './common.js';

export interface PairRow {
  prompt: string;
  chosen: string;
  rejected: string;
  /** Score of chosen minus rejected when the row carries `score_chosen`/`score_rejected`, else undefined. */
  gap?: number;
  raw: Record<string, unknown>;
}

async function readLines(ctx: StepContext, uri: string): Promise<{ line: number; value: Record<string, unknown> }[]> {
  const out: { line: number; value: Record<string, unknown> }[] = [];
  let n = 0;
  for await (const line of splitLines(await ctx.store.open(uri), { source: uri })) {
    n++;
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new BadInput(`${uri}: row ${n}: invalid JSON (${(e as Error).message})`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BadInput(`${uri}: row ${n}: expected a JSON object`);
    out.push({ line: n, value: v as Record<string, unknown> });
  }
  return out;
}

/** A TRL pairs dataset, validated row by row, keeping each raw row. */
export async function readPairRows(ctx: StepContext, uri: string): Promise<PairRow[]> {
  const rows = await readLines(ctx, uri);
  const out = rows.map(({ line, value }) => {
    let r: PairRecord;
    try {
      r = normalizeRow(value, 'pairs', line) as PairRecord;
    } catch (e) {
      throw new BadInput(`${uri}: ${(e as Error).message}`);
    }
    const sc = value.score_chosen;
    const sr = value.score_rejected;
    const gap = typeof sc === 'number' && typeof sr === 'number' ? sc - sr : undefined;
    return {
      prompt: promptText(r.prompt),
      chosen: completionText(r.chosen),
      rejected: completionText(r.rejected),
      gap,
      raw: value,
    };
  });
  if (out.length === 0) throw new BadInput(`${uri}: no preference pairs`);
  return out;
}

export interface PromptRow {
  prompt: string;
  raw: Record<string, unknown>;
}

/** Rows with a prompt: `{prompt, …}` (prompt-only, pairs, multi) or chat (context before the last assistant turn). */
export async function readPromptRows(ctx: StepContext, uri: string): Promise<PromptRow[]> {
  const rows = await readLines(ctx, uri);
  const out = rows.map(({ line, value }) => {
    const p = value.prompt;
    if (typeof p === 'string' && p.trim() !== '') return { prompt: p, raw: value };
    if (Array.isArray(p)) return { prompt: promptText(p as never), raw: value };
    if (Array.isArray(value.messages)) {
      const ms = value.messages as { role: string; content: string }[];
      const last = ms.map((m) => m.role).lastIndexOf('assistant');
      return { prompt: promptText((last >= 0 ? ms.slice(0, last) : ms) as never), raw: value };
    }
    throw new BadInput(`${uri}: row ${line}: no "prompt" (string or messages) or "messages"`);
  });
  if (out.length === 0) throw new BadInput(`${uri}: no rows`);
  return out;
}

/** Indices grouped by prompt, prompts in first-seen order. */
export function groupByPrompt<T extends { prompt: string }>(rows: T[]): Map<string, number[]> {
  const g = new Map<string, number[]>();
  rows.forEach((r, i) => {
    const x = g.get(r.prompt);
    if (x) x.push(i);
    else g.set(r.prompt, [i]);
  });
  return g;
}

/** The pairs a depth selection kept (indices into the pool), written in pool order as the step's pairs.jsonl. */
export function writeKeptPairs(
  ctx: StepContext,
  pool: PairRow[],
  keep: number[],
  inputs: string[],
  budget: number,
): Promise<ArtifactRef & { rows: number }> {
  return writeRows(
    ctx,
    'pairs.jsonl',
    keep.map((i) => pool[i]!.raw),
    inputs,
    { budget },
  );
}

export async function writeRows(
  ctx: StepContext,
  name: string,
  rows: unknown[],
  inputs: string[],
  attributes: Record<string, unknown> = {},
): Promise<ArtifactRef & { rows: number }> {
  return writeJsonl(ctx.store, ctx.outputUri(name), rows, { producer: producerOf(ctx), inputs, attributes });
}

/** The pair budget and depth bounds of the depth-selection kinds (bpo.gradient-cluster, bpo.balance-length). */
export const budgetArgs = {
  budget: Type.Optional(Type.Integer({ minimum: 1, description: 'total pairs to keep (overrides budgetFraction)' })),
  budgetFraction: withDefault(
    Type.Number({ exclusiveMinimum: 0, maximum: 1, description: "budget as a fraction of the pool's pairs" }),
    0.5,
  ),
  minDepth: withDefault(
    Type.Integer({ minimum: 0, description: 'pairs every prompt keeps at least (if it has them)' }),
    1,
  ),
  maxDepth: withDefault(Type.Integer({ minimum: 1, description: 'pairs any prompt keeps at most' }), 8),
};

/** Pairs to keep: `budget`, else `budgetFraction` of the pool (at least one). */
export const budgetOf = (a: { budget?: number; budgetFraction: number }, pool: number): number =>
  a.budget ?? Math.max(1, Math.round(a.budgetFraction * pool));

/** What every kind that selects pairs returns. */
export const SELECTION_OUTPUTS: Record<string, KindOutput> = {
  data: { type: 'artifact', description: 'selected pairs (TRL {prompt, chosen, rejected}, extra columns kept)' },
  pairs: { type: 'number', description: 'pairs kept' },
  prompts: { type: 'number', description: 'prompts with at least one pair kept' },
  poolPairs: { type: 'number', description: 'pairs in the input' },
  depthHistogram: { type: 'string', description: 'JSON: depth -> number of prompts' },
};

/** SELECTION_OUTPUTS but `data`, from each prompt's depth: pairs and prompts kept, and a histogram of depths. */
export function selectionSummary(
  depths: number[],
  poolPairs: number,
): { pairs: number; prompts: number; poolPairs: number; depthHistogram: string } {
  const histogram: Record<string, number> = {};
  let prompts = 0;
  let pairs = 0;
  for (const d of depths) {
    if (d > 0) prompts++;
    pairs += d;
    histogram[d] = (histogram[d] ?? 0) + 1;
  }
  return { pairs, prompts, poolPairs, depthHistogram: JSON.stringify(histogram) };
}

/** `depthSelection`, with a budget the bounds cannot meet reported as bad input (it is not retried). */
export function selectDepth(...args: Parameters<typeof depthSelection>): ReturnType<typeof depthSelection> {
  try {
    return depthSelection(...args);
  } catch (e) {
    if (e instanceof AllocationError) throw new BadInput(e.message);
    throw e;
  }
}
