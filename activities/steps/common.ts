// Helpers shared by the data, training and eval kinds: the chat template that
// turns conversational records into model text, dataset loading, producers.
import { createHash } from 'node:crypto';
import { setImmediate as yieldNow, setTimeout as sleep } from 'node:timers/promises';
import { readJsonl } from '../../store/datasets.js';
import {
  DatasetFormatError,
  type ChatMessage,
  type DatasetFormat,
  type DatasetRecord,
  type DatasetReport,
  type RowPolicy,
  type Text,
} from '../../formats/index.js';
import type { Producer } from '../../store/artifacts.js';
import { BadInput, type StepContext } from '../step-kind.js';
import { logProbs, type CausalLM, type SequenceLogps, type SftExample } from '../../ml/index.js';

/**
 * The chat template (also used by `bpoflow serve`): one line per message,
 * `System: …` / `User: …` / `Assistant: …` / `Tool: …`, each ending in "\n",
 * and a generation prompt ends with `Assistant: ` (with the space). A plain-text
 * prompt is used as it is.
 */
export function renderChat(messages: ChatMessage[], addGenerationPrompt = true): string {
  const role = (r: string) => r.charAt(0).toUpperCase() + r.slice(1);
  return messages.map((m) => `${role(m.role)}: ${m.content}\n`).join('') + (addGenerationPrompt ? 'Assistant: ' : '');
}

export const promptText = (t: Text): string => (typeof t === 'string' ? t : renderChat(t));
/** A completion as model text: a string, or the contents of its (assistant) messages joined by newlines. */
export const completionText = (t: Text): string => (typeof t === 'string' ? t : t.map((m) => m.content).join('\n'));

/** The prompt a record belongs to (used to split by prompt and to dedupe prompts). */
export function recordPrompt(r: DatasetRecord): string {
  if (r.kind === 'chat') {
    const lastAssistant = r.messages.map((m) => m.role).lastIndexOf('assistant');
    return renderChat(r.messages.slice(0, lastAssistant));
  }
  return promptText(r.prompt);
}

export interface LoadedDataset {
  records: DatasetRecord[];
  report: DatasetReport;
}

/** Reads a whole dataset (training sets here are small enough to hold). Reports progress in rows. */
export async function loadDataset(
  ctx: StepContext,
  uri: string,
  format: DatasetFormat | 'auto' = 'auto',
  onError: RowPolicy = 'fail',
  opts: { maxIssues?: number } = {},
): Promise<LoadedDataset> {
  const stream = await readJsonl(ctx.store, uri, { format, onError, source: uri, ...opts });
  const records: DatasetRecord[] = [];
  try {
    for await (const r of stream) {
      records.push(r);
      if (records.length % 1000 === 0) ctx.progress({ done: records.length, unit: 'rows' });
    }
  } catch (e) {
    // A file no row of which can be read (corrupt gzip, unreadable Parquet): retrying cannot fix it.
    // A bad row stays a DatasetRowError (itself never retried), naming its row.
    if (e instanceof DatasetFormatError) throw new BadInput(`${uri}: ${e.message}`);
    throw e;
  }
  return { records, report: stream.report };
}

export interface PairText {
  prompt: string;
  chosen: string;
  rejected: string;
  /** A conversational prompt's messages: a model with its own chat template renders these instead of `prompt`. */
  messages?: ChatMessage[];
}

const promptMessages = (t: Text): { messages?: ChatMessage[] } => (typeof t === 'string' ? {} : { messages: t });

/** Preference pairs as model text. Multi-response rows give (best, worst) by score; chat rows are not pairs. */
export function toPairs(records: DatasetRecord[], uri: string): PairText[] {
  const out: PairText[] = [];
  for (const r of records) {
    if (r.kind === 'pair')
      out.push({
        prompt: promptText(r.prompt),
        chosen: completionText(r.chosen),
        rejected: completionText(r.rejected),
        ...promptMessages(r.prompt),
      });
    else if (r.kind === 'multi') {
      const scored = r.responses.filter((x) => typeof x.score === 'number');
      if (scored.length < 2)
        throw new BadInput(
          `${uri}: row ${r.row}: multi-response rows need scores on at least two responses to form a pair`,
        );
      const sorted = [...scored].sort((a, b) => b.score! - a.score!);
      if (sorted[0]!.score === sorted.at(-1)!.score) continue; // no preference
      out.push({
        prompt: promptText(r.prompt),
        chosen: completionText(sorted[0]!.text),
        rejected: completionText(sorted.at(-1)!.text),
        ...promptMessages(r.prompt),
      });
    } else throw new BadInput(`${uri}: row ${r.row}: a chat (SFT) row is not a preference pair`);
  }
  if (out.length === 0) throw new BadInput(`${uri}: no preference pairs`);
  return out;
}

/** SFT examples: pairs → prompt + chosen; chat → context + last assistant turn; multi → the best-scored (or first). */
export function toSftExamples(records: DatasetRecord[], uri: string): SftExample[] {
  // `messages` (the whole conversation) is what a model with its own chat template trains on (all assistant turns).
  const withReply = (p: Text, reply: string) =>
    typeof p === 'string' ? {} : { messages: [...p, { role: 'assistant' as const, content: reply }] };
  const out = records.map((r): SftExample => {
    if (r.kind === 'pair')
      return {
        prompt: promptText(r.prompt),
        response: completionText(r.chosen),
        ...withReply(r.prompt, completionText(r.chosen)),
      };
    if (r.kind === 'multi') {
      let best = r.responses[0]!;
      for (const x of r.responses) if ((x.score ?? -Infinity) > (best.score ?? -Infinity)) best = x;
      return {
        prompt: promptText(r.prompt),
        response: completionText(best.text),
        ...withReply(r.prompt, completionText(best.text)),
      };
    }
    const last = r.messages.map((m) => m.role).lastIndexOf('assistant');
    return { prompt: renderChat(r.messages.slice(0, last)), response: r.messages[last]!.content, messages: r.messages };
  });
  if (out.length === 0) throw new BadInput(`${uri}: no examples`);
  return out;
}

export const producerOf = (ctx: StepContext): Producer => ({
  runId: ctx.runId,
  stepId: ctx.stepId,
  attempt: ctx.attempt,
});

/** An eval kind's report, `eval.json` (the run report reads it: cli/report/data.ts); returns its URI. */
export async function writeEvalReport(ctx: StepContext, report: object, inputs: string[]): Promise<string> {
  const ref = await ctx.store.putJson(ctx.outputUri('eval.json'), report, {
    kind: 'metrics',
    producer: producerOf(ctx),
    inputs,
  });
  return ref.uri;
}

/** Uniform in [0, 1) from sha256(seed \0 text): stable across runs, machines and row order. */
export function hashUnit(text: string, seed: number): number {
  const h = createHash('sha256').update(`${seed}\0${text}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** Lets timers (heartbeats) and other activities run between CPU-bound steps; honours cancellation. */
export async function breathe(ctx: StepContext, pauseMs = 0): Promise<void> {
  if (pauseMs > 0) await sleep(pauseMs, undefined, { signal: ctx.signal }).catch(() => undefined);
  else await yieldNow();
}

export function assertNotCancelled(ctx: StepContext): void {
  if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('step cancelled');
}

/**
 * logProbs over many sequences in chunks (a multiple of the batch size, so the
 * batches and hence the numbers are the same as one call), yielding between
 * chunks so heartbeats keep flowing on large datasets.
 */
export async function chunkedLogProbs(
  ctx: StepContext,
  model: CausalLM,
  items: { prompt: string; response: string; messages?: ChatMessage[] }[],
  opts: { batchSize?: number; maxLength?: number; label?: string } = {},
): Promise<SequenceLogps> {
  const bs = opts.batchSize ?? 8;
  const chunk = bs * 8;
  const out: SequenceLogps = { sum: [], tokens: [] };
  for (let i = 0; i < items.length; i += chunk) {
    assertNotCancelled(ctx);
    const r = logProbs(model, items.slice(i, i + chunk), {
      batchSize: bs,
      ...(opts.maxLength ? { maxLength: opts.maxLength } : {}),
    });
    out.sum.push(...r.sum);
    out.tokens.push(...r.tokens);
    ctx.progress({
      done: Math.min(items.length, i + chunk),
      total: items.length,
      unit: 'sequences',
      ...(opts.label ? { message: opts.label } : {}),
    });
    await breathe(ctx);
  }
  return out;
}
