/**
 * Dataset rows as bpoflow reads them: the formats, their validation and normalization to
 * {@link DatasetRecord}. Pure: a row in, a record (or a {@link DatasetRowError}) out.
 *
 *  - `pairs`  TRL preference pairs `{prompt, chosen, rejected}`; each a string, or a list of chat
 *             messages (conversational). Conversational rows may omit `prompt` ("implicit prompt"),
 *             in which case the prompt is the longest common message prefix of chosen/rejected.
 *  - `multi`  multi-response `{prompt, responses: [{text, score?}]}` (at least 2 responses).
 *  - `chat`   conversational SFT `{messages: [{role, content}]}`.
 *  - `hh`     Anthropic HH-RLHF `{chosen, rejected}` full transcripts (formats/hh.ts).
 */
import { hhPair } from './hh.js';

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

class RowFault extends Error {}
const fault = (reason: string): never => {
  throw new RowFault(reason);
};

const ROLES: readonly string[] = ['system', 'user', 'assistant', 'tool'];
export const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function messages(v: unknown, field: string, allowEmpty = false): ChatMessage[] {
  if (!Array.isArray(v)) fault(`"${field}" must be a list of messages, got ${typeName(v)}`);
  const arr = v as unknown[];
  if (!allowEmpty && arr.length === 0) fault(`"${field}" must not be empty`);
  return arr.map((m, i) => {
    if (!m || typeof m !== 'object' || Array.isArray(m))
      fault(`"${field}[${i}]" must be an object with role and content`);
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
    if (c.length === 0 || r.length === 0)
      fault('"chosen" and "rejected" have no distinct completion after the shared prompt');
    if (same(c, r)) fault('"chosen" and "rejected" are identical');
    return { kind: 'pair', prompt: chosen.slice(0, n), chosen: c, rejected: r, row };
  }
  if (!('prompt' in o)) fault('missing "prompt"');
  if (
    conversational &&
    typeof o.prompt === 'string' &&
    startsWithPrompt(o.chosen, o.prompt) &&
    startsWithPrompt(o.rejected, o.prompt)
  ) {
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
    if (!value || typeof value !== 'object' || Array.isArray(value))
      fault(`expected a JSON object, got ${typeName(value)}`);
    return PARSERS[format](value as Record<string, unknown>, row);
  } catch (e) {
    if (e instanceof RowFault) throw new DatasetRowError(row, e.message);
    throw e;
  }
}
