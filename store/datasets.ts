/**
 * Preference / SFT datasets as JSONL streams.
 *
 * Reading never holds the whole file: lines are split incrementally and records are yielded one
 * at a time from an async iterator. Supported input formats (auto-detected from the keys of the
 * first row that is a JSON object, or named explicitly):
 *
 *  - `pairs`  TRL preference pairs `{prompt, chosen, rejected}`; each a string, or a list of chat
 *             messages (conversational). Conversational rows may omit `prompt` ("implicit prompt"),
 *             in which case the prompt is the longest common message prefix of chosen/rejected.
 *  - `multi`  multi-response `{prompt, responses: [{text, score?}]}` (at least 2 responses).
 *  - `chat`   conversational SFT `{messages: [{role, content}]}`.
 *  - `hh`     Anthropic HH-RLHF `{chosen, rejected}` full transcripts with `\n\nHuman:` /
 *             `\n\nAssistant:` turns; the prompt is their shared prefix up to and including the
 *             last `\n\nAssistant:`, the responses are the remainders. The turns are kept: the
 *             prompt becomes user/assistant messages and each response assistant messages, so
 *             the model's chat template renders the dialogue.
 *
 * The bytes may be JSONL, gzipped JSONL or Parquet, told apart by their magic bytes
 * (store/data-formats.ts). Everything is normalized to {@link DatasetRecord}. Bad rows are
 * reported with their 1-based row number (the line in JSONL) and a reason
 * (`row 17: "rejected" must be a string`); blank lines are ignored but counted. Policy `fail`
 * throws {@link DatasetRowError}; `skip` collects the issues in the report.
 */
import { Readable } from 'node:stream';
import type { ArtifactRef, ArtifactStore, PutMeta } from './artifacts.js';
import { decodeLines, hhMessages, InvalidUtf8Line, rawRows, type Container } from './data-formats.js';

export { decodeLines, DatasetFormatError, InvalidUtf8Line, invalidUtf8At, type Container } from './data-formats.js';

export type DatasetFormat = 'pairs' | 'multi' | 'chat' | 'hh';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['pairs', 'multi', 'chat', 'hh'];

export type Role = 'system' | 'user' | 'assistant' | 'tool';
export interface ChatMessage {
  role: Role;
  content: string;
}
/** A prompt or a completion: plain text or a list of chat messages. */
export type Text = string | ChatMessage[];

export interface PairRecord {
  kind: 'pair';
  prompt: Text;
  chosen: Text;
  rejected: Text;
  row: number;
}
export interface MultiRecord {
  kind: 'multi';
  prompt: Text;
  responses: { text: Text; score?: number }[];
  row: number;
}
export interface ChatRecord {
  kind: 'chat';
  messages: ChatMessage[];
  row: number;
}
export type DatasetRecord = PairRecord | MultiRecord | ChatRecord;

export interface RowIssue {
  row: number;
  reason: string;
  /** The start of the row as it was read (for finding it), when kept. */
  excerpt?: string;
}

export class DatasetRowError extends Error {
  override name = 'DatasetRowError';
  constructor(
    readonly row: number,
    readonly reason: string,
    readonly source?: string,
  ) {
    super(`${source ? `${source}: ` : ''}row ${row}: ${reason}`);
  }
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

export type ByteSource = Readable | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

// ------------------------------------------------------------------ line splitting

/**
 * Split a byte/string stream into lines (LF or CRLF) without buffering more than one line.
 * Invalid UTF-8 throws {@link DatasetRowError} with the line number (`source` labels it).
 */
export async function* splitLines(source: ByteSource, opts: { source?: string } = {}): AsyncGenerator<string> {
  let n = 0;
  for await (const line of decodeLines(source)) {
    n++;
    if (line instanceof InvalidUtf8Line) throw new DatasetRowError(n, line.reason, opts.source);
    yield line;
  }
}

// ------------------------------------------------------------------ validation

class RowFault extends Error {}
const fault = (reason: string): never => {
  throw new RowFault(reason);
};

const ROLES: readonly string[] = ['system', 'user', 'assistant', 'tool'];
const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function messages(v: unknown, field: string, allowEmpty = false): ChatMessage[] {
  if (!Array.isArray(v)) fault(`"${field}" must be a list of messages, got ${typeName(v)}`);
  const arr = v as unknown[];
  if (!allowEmpty && arr.length === 0) fault(`"${field}" must not be empty`);
  return arr.map((m, i) => {
    if (!m || typeof m !== 'object' || Array.isArray(m)) fault(`"${field}[${i}]" must be an object with role and content`);
    const o = m as Record<string, unknown>;
    if (typeof o.role !== 'string' || !ROLES.includes(o.role))
      fault(`"${field}[${i}].role" must be one of ${ROLES.join('/')}, got ${JSON.stringify(o.role)}`);
    if (typeof o.content !== 'string') fault(`"${field}[${i}].content" must be a string`);
    return { role: o.role as Role, content: o.content as string };
  });
}

function isMessageList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((m) => m && typeof m === 'object' && 'role' in m);
}

function str(o: Record<string, unknown>, field: string, nonEmpty: boolean): string {
  if (!(field in o)) fault(`missing "${field}"`);
  const v = o[field];
  if (typeof v !== 'string') fault(`"${field}" must be a string`);
  if (nonEmpty && (v as string).trim() === '') fault(`"${field}" must not be empty`);
  return v as string;
}

function textField(o: Record<string, unknown>, field: string, conversational: boolean): Text {
  if (!(field in o)) fault(`missing "${field}"`);
  if (conversational) {
    const v = o[field];
    if (typeof v === 'string') fault(`"${field}" must be a list of messages like the other fields, got string`);
    return messages(v, field);
  }
  return str(o, field, true);
}

const same = (a: Text, b: Text): boolean => JSON.stringify(a) === JSON.stringify(b);

function startsWithPrompt(v: unknown, prompt: string): boolean {
  const first = Array.isArray(v) ? (v[0] as { role?: unknown; content?: unknown } | undefined) : undefined;
  return !!first && first.role === 'user' && first.content === prompt;
}

function parsePairs(o: Record<string, unknown>, row: number): PairRecord {
  const conversational = isMessageList(o.chosen) || isMessageList(o.prompt) || Array.isArray(o.chosen);
  if (conversational && !('prompt' in o)) {
    // implicit prompt: shared message prefix
    const chosen = messages(o.chosen, 'chosen');
    const rejected = messages(o.rejected ?? fault('missing "rejected"'), 'rejected');
    let n = 0;
    while (n < chosen.length && n < rejected.length && same([chosen[n]!], [rejected[n]!])) n++;
    if (n === 0) fault('"chosen" and "rejected" share no prompt messages (implicit-prompt conversational row)');
    const c = chosen.slice(n);
    const r = rejected.slice(n);
    if (c.length === 0 || r.length === 0) fault('"chosen" and "rejected" have no distinct completion after the shared prompt');
    if (same(c, r)) fault('"chosen" and "rejected" are identical');
    return { kind: 'pair', prompt: chosen.slice(0, n), chosen: c, rejected: r, row };
  }
  if (!('prompt' in o)) fault('missing "prompt"');
  if (conversational && typeof o.prompt === 'string' && startsWithPrompt(o.chosen, o.prompt) && startsWithPrompt(o.rejected, o.prompt)) {
    // UltraFeedback-binarized style: a prompt string and full conversations that
    // repeat it as their first user turn. The turns are the record; the prompt
    // column is a copy of the first one.
    const { prompt: _dup, ...rest } = o;
    void _dup;
    return parsePairs(rest, row);
  }
  const prompt = Array.isArray(o.prompt) ? messages(o.prompt, 'prompt') : str(o, 'prompt', true);
  const chosen = textField(o, 'chosen', conversational);
  const rejected = textField(o, 'rejected', conversational);
  if (same(chosen, rejected)) fault('"chosen" and "rejected" are identical');
  return { kind: 'pair', prompt, chosen, rejected, row };
}

function parseMulti(o: Record<string, unknown>, row: number): MultiRecord {
  if (!('prompt' in o)) fault('missing "prompt"');
  const prompt = Array.isArray(o.prompt) ? messages(o.prompt, 'prompt') : str(o, 'prompt', true);
  if (!('responses' in o)) fault('missing "responses"');
  if (!Array.isArray(o.responses)) fault(`"responses" must be a list, got ${typeName(o.responses)}`);
  const rs = o.responses as unknown[];
  if (rs.length < 2) fault(`"responses" must have at least 2 entries, got ${rs.length}`);
  const responses = rs.map((r, i) => {
    if (typeof r === 'string') {
      if (r.trim() === '') fault(`"responses[${i}]" must not be empty`);
      return { text: r };
    }
    if (!r || typeof r !== 'object' || Array.isArray(r)) fault(`"responses[${i}]" must be an object with "text"`);
    const x = r as Record<string, unknown>;
    let text: Text;
    if (!('text' in x)) fault(`"responses[${i}]" is missing "text"`);
    if (Array.isArray(x.text)) text = messages(x.text, `responses[${i}].text`);
    else {
      if (typeof x.text !== 'string') fault(`"responses[${i}].text" must be a string`);
      if ((x.text as string).trim() === '') fault(`"responses[${i}].text" must not be empty`);
      text = x.text as string;
    }
    if (x.score !== undefined && (typeof x.score !== 'number' || !Number.isFinite(x.score)))
      fault(`"responses[${i}].score" must be a finite number`);
    return x.score === undefined ? { text } : { text, score: x.score as number };
  });
  return { kind: 'multi', prompt, responses, row };
}

function parseChat(o: Record<string, unknown>, row: number): ChatRecord {
  if (!('messages' in o)) fault('missing "messages"');
  const ms = messages(o.messages, 'messages');
  if (!ms.some((m) => m.role === 'assistant')) fault('"messages" has no assistant turn');
  return { kind: 'chat', messages: ms, row };
}

export const HH_HUMAN = '\n\nHuman:';
export const HH_ASSISTANT = '\n\nAssistant:';

/**
 * Split an HH-RLHF pair into prompt and responses: the prompt is the longest common prefix of the
 * two transcripts, cut back to end just after its last `\n\nAssistant:`.
 * Throws an Error (message = reason) when the pair is unusable.
 */
export function splitHH(chosen: string, rejected: string): { prompt: string; chosen: string; rejected: string } {
  for (const [name, t] of [
    ['chosen', chosen],
    ['rejected', rejected],
  ] as const) {
    if (!t.includes(HH_ASSISTANT)) throw new Error(`"${name}" has no "\\n\\nAssistant:" turn`);
    if (!t.includes(HH_HUMAN)) throw new Error(`"${name}" has no "\\n\\nHuman:" turn`);
  }
  if (chosen === rejected) throw new Error('"chosen" and "rejected" are identical');
  let n = 0;
  const max = Math.min(chosen.length, rejected.length);
  while (n < max && chosen.charCodeAt(n) === rejected.charCodeAt(n)) n++;
  const common = chosen.slice(0, n);
  const cut = common.lastIndexOf(HH_ASSISTANT);
  if (cut === -1) throw new Error('"chosen" and "rejected" share no prompt ending in "\\n\\nAssistant:"');
  const end = cut + HH_ASSISTANT.length;
  const prompt = chosen.slice(0, end);
  if (!prompt.includes(HH_HUMAN)) throw new Error('shared prompt has no "\\n\\nHuman:" turn');
  const c = chosen.slice(end);
  const r = rejected.slice(end);
  if (c.trim() === '') throw new Error('"chosen" has an empty response after the shared prompt');
  if (r.trim() === '') throw new Error('"rejected" has an empty response after the shared prompt');
  return { prompt, chosen: c, rejected: r };
}

/** An HH pair as chat messages: the shared prompt's turns, then each side's assistant reply (and turns after it). */
export function hhPair(chosen: string, rejected: string): { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] } {
  const s = splitHH(chosen, rejected);
  const prompt = hhMessages(s.prompt, 'system');
  if (!prompt.some((m) => m.role === 'user')) throw new Error('shared prompt has no "\\n\\nHuman:" turn');
  return { prompt, chosen: hhMessages(s.chosen, 'assistant'), rejected: hhMessages(s.rejected, 'assistant') };
}

function parseHH(o: Record<string, unknown>, row: number): PairRecord {
  const c = str(o, 'chosen', true);
  const r = str(o, 'rejected', true);
  try {
    return { kind: 'pair', ...hhPair(c, r), row };
  } catch (e) {
    if (e instanceof RowFault) throw e;
    return fault((e as Error).message);
  }
}

/** Detect the format from a row's keys, or undefined. */
export function detectFormat(o: Record<string, unknown>): DatasetFormat | undefined {
  if ('messages' in o && !('chosen' in o)) return 'chat';
  if ('responses' in o) return 'multi';
  if ('chosen' in o && 'rejected' in o) {
    if ('prompt' in o) return 'pairs';
    if (Array.isArray(o.chosen)) return 'pairs'; // implicit-prompt conversational
    return 'hh';
  }
  if ('prompt' in o && ('chosen' in o || 'rejected' in o)) return 'pairs';
  return undefined;
}

const PARSERS: Record<DatasetFormat, (o: Record<string, unknown>, row: number) => DatasetRecord> = {
  pairs: parsePairs,
  multi: parseMulti,
  chat: parseChat,
  hh: parseHH,
};

/** Validate and normalize one already-parsed row. Throws {@link DatasetRowError}. */
export function normalizeRow(value: unknown, format: DatasetFormat, row: number): DatasetRecord {
  try {
    if (!value || typeof value !== 'object' || Array.isArray(value)) fault(`expected a JSON object, got ${typeName(value)}`);
    return PARSERS[format](value as Record<string, unknown>, row);
  } catch (e) {
    if (e instanceof RowFault) throw new DatasetRowError(row, e.message);
    throw e;
  }
}

// Enough of a skipped row to recognise it in skipped.jsonl.
const EXCERPT = 200;

/**
 * Parse a dataset byte stream (JSONL, gzipped JSONL or Parquet) into normalized records, streamed. Iterate it once; its
 * `report` is final after the loop ends (or after a DatasetRowError under policy 'fail').
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
    throw new Error(`unknown dataset format ${JSON.stringify(report.format)} (expected ${DATASET_FORMATS.join(', ')} or auto)`);
  }
  let excerpt = '';
  const bad = (row: number, reason: string): void => {
    if (policy === 'fail') throw new DatasetRowError(row, reason, opts.source);
    report.skipped++;
    if (report.issues.length < maxIssues) report.issues.push(excerpt ? { row, reason, excerpt } : { row, reason });
  };
  async function* gen(): AsyncGenerator<DatasetRecord> {
    for await (const raw of rawRows(source as AsyncIterable<Uint8Array | string>, { onContainer: (c) => (report.container = c) })) {
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

/** Read a JSONL artifact (or plain object) from the store as a verified stream of records. */
export async function readJsonl(store: ArtifactStore, uri: string, opts: ReadOptions = {}): Promise<DatasetStream> {
  const stream = await store.open(uri);
  return readDataset(stream, { source: uri, ...opts });
}

/** Read and collect every record (for small datasets/tests). */
export async function collect(ds: DatasetStream): Promise<{ records: DatasetRecord[]; report: DatasetReport }> {
  const records: DatasetRecord[] = [];
  for await (const r of ds) records.push(r);
  return { records, report: ds.report };
}

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
export async function* encodeJsonl(rows: AsyncIterable<unknown> | Iterable<unknown>, counter?: { rows: number }): AsyncGenerator<Buffer> {
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

/** Stream rows to a JSONL artifact. Default kind 'dataset', mediaType application/x-ndjson. */
export async function writeJsonl(
  store: ArtifactStore,
  target: string,
  rows: AsyncIterable<unknown> | Iterable<unknown>,
  meta: Partial<PutMeta> = {},
): Promise<ArtifactRef & { rows: number }> {
  const counter = { rows: 0 };
  const ref = await store.put(target, Readable.from(encodeJsonl(rows, counter)), {
    kind: 'dataset',
    mediaType: 'application/x-ndjson',
    ...meta,
    attributes: () => ({ ...(typeof meta.attributes === 'function' ? meta.attributes() : (meta.attributes ?? {})), rows: counter.rows }),
  } as PutMeta);
  return { ...ref, rows: counter.rows };
}
