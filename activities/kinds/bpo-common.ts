// Helpers shared by the bpo.* kinds: pair datasets read with their raw rows
// (so extra columns such as scores survive selection), writing selections,
// and small argument readers.
import { normalizeRow, splitLines, writeJsonl, type PairRecord } from '../../store/datasets.js';
import type { ArtifactRef } from '../../store/artifacts.js';
import { BadInput, type StepContext } from '../step-kind.js';
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
    return { prompt: promptText(r.prompt), chosen: completionText(r.chosen), rejected: completionText(r.rejected), gap, raw: value };
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

export async function writeRows(ctx: StepContext, name: string, rows: unknown[], inputs: string[], attributes: Record<string, unknown> = {}): Promise<ArtifactRef & { rows: number }> {
  return writeJsonl(ctx.store, ctx.outputUri(name), rows, { producer: producerOf(ctx), inputs, attributes });
}

export const int = (v: unknown, d: number, name: string, min = 0): number => {
  if (v === undefined || v === null) return d;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new BadInput(`${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return v;
};

export const real = (v: unknown, d: number, name: string): number => {
  if (v === undefined || v === null) return d;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadInput(`${name} must be a number, got ${JSON.stringify(v)}`);
  return v;
};

/** Depth summary: prompts kept and a histogram of pairs per prompt. */
export function depthSummary(depths: number[]): { prompts: number; pairs: number; histogram: Record<string, number> } {
  const histogram: Record<string, number> = {};
  let prompts = 0;
  let pairs = 0;
  for (const d of depths) {
    if (d > 0) prompts++;
    pairs += d;
    histogram[d] = (histogram[d] ?? 0) + 1;
  }
  return { prompts, pairs, histogram };
}
