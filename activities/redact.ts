// The one place secrets are taken out of text before it leaves the process:
// log records (activities/log.ts), step failures on their way into Temporal
// history (activities/run-step.ts), error bodies of HTTP endpoints
// (generators/openai.ts) and what the CLI prints.
//
// It knows two kinds of secret:
//  - values: the S3 credentials (env or the local stack's s3.json), every
//    environment variable whose name says it holds a secret (…_API_KEY, …TOKEN,
//    …SECRET…, …PASSWORD…), the files named by TEMPORAL_TLS_CLIENT_KEY_PATH and
//    *_KEY_FILE / *_TOKEN_FILE / *_SECRET_FILE variables, and whatever code
//    registers at run time (`registerSecret`: an API key read through a
//    pipeline's `apiKeyEnv`, the `serve --api-key-file` key);
//  - shapes: `Bearer …` tokens and Authorization header values, OpenAI-style `sk-…` keys, PEM
//    private keys, and `api_key=…`/`"password": "…"`-style pairs,
// so a key the process never saw by name (an endpoint echoing a request built
// elsewhere) is still caught by its shape.
import { readFileSync, statSync } from 'node:fs';
import { resolveStoreConfig } from '../store/config.js';

export const REDACTED = '[REDACTED]';

/** Shorter values are too likely to occur in ordinary text to be replaced safely. */
const MIN_SECRET_LENGTH = 8;
const SECRET_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|KEY_DATA|CREDENTIAL|_KEY$)/i;
const SECRET_FILE_NAME = /(KEY|TOKEN|SECRET|PASSWORD)_FILE$/i;
const NAMED_KEY_FILES = ['TEMPORAL_TLS_CLIENT_KEY_PATH'];

const SHAPES: [RegExp, string][] = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi, `Bearer ${REDACTED}`],
  // An Authorization header as an echo shows it (JSON or raw HTTP): everything up to the quote or line end.
  [/(authorization\\?["']?\s*[:=]\s*\\?["']?)([^"'\\\r\n]{8,})/gi, `$1${REDACTED}`],
  [/\bsk-[A-Za-z0-9_-]{12,}/g, REDACTED],
  [/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]+:[^\s/@]+@/gi, `$1${REDACTED}@`],
  // key=value / "key": "value" pairs whose key names a credential.
  [
    /((?:api[_-]?key|x-api-key|secret[_-]?key|access[_-]?token|client[_-]?secret|password|passwd)\\?["']?\s*[:=]\s*\\?["']?)([^\s"'\\,;&}]{8,})/gi,
    `$1${REDACTED}`,
  ],
];

const registered = new Set<string>();
let fromEnvironment: string[] | undefined;
/** Secrets longest first, with their JSON-escaped forms; rebuilt when the set changes. */
let compiled: string[] | undefined;

function readSmallFile(path: string): string | undefined {
  try {
    if (statSync(path).size > 1 << 20) return undefined;
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The secret values this process's environment carries (computed once; `resetSecrets` recomputes). */
function environmentSecrets(env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value) continue;
    if (SECRET_NAME.test(name) && !SECRET_FILE_NAME.test(name) && !/_PATH$/.test(name)) out.push(value);
    if (SECRET_FILE_NAME.test(name) || NAMED_KEY_FILES.includes(name)) {
      const text = readSmallFile(value);
      if (text) out.push(text);
    }
  }
  try {
    const s3 = resolveStoreConfig(env);
    out.push(s3.secretKey, s3.accessKey);
  } catch {
    // no store configured in this process: nothing to add
  }
  return out;
}

/** Adds a value to redact from now on (in this process), e.g. an API key read from a variable the pipeline named. */
export function registerSecret(value: string | undefined): void {
  if (value && value.trim().length >= MIN_SECRET_LENGTH) {
    registered.add(value);
    registered.add(value.trim());
    compiled = undefined;
  }
}

/** Forgets the environment's secrets so the next call reads the environment again (tests; after loading config). */
export function resetSecrets(): void {
  fromEnvironment = undefined;
  compiled = undefined;
}

export function knownSecrets(): string[] {
  if (!compiled) {
    fromEnvironment ??= environmentSecrets();
    const all = new Set<string>();
    for (const s of [...fromEnvironment, ...registered]) {
      if (s.length < MIN_SECRET_LENGTH) continue;
      all.add(s);
      // The same value as JSON would carry it (an echoed request body escapes quotes and backslashes).
      all.add(JSON.stringify(s).slice(1, -1));
    }
    // Longest first, so a secret that contains another is replaced whole.
    compiled = [...all].sort((a, b) => b.length - a.length);
  }
  return compiled;
}

/** `text` with every known secret value and every secret-shaped token replaced by `[REDACTED]`. */
export function redact(text: string): string {
  let out = text;
  for (const s of knownSecrets()) if (out.includes(s)) out = out.split(s).join(REDACTED);
  for (const [re, to] of SHAPES) out = out.replace(re, to);
  return out;
}

/** A copy of a JSON-like value with every string redacted (log record fields, step outputs). */
export function redactValue<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (depth > 20 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1)) as T;
  if (value instanceof Error) return redactError(value) as T;
  // What JSON.stringify would write for it (a Date's ISO string, a config's redacted form).
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return redactValue(toJSON.call(value), depth + 1) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, depth + 1);
  return out as T;
}

/**
 * The same error with its message, stack and causes redacted: what a step
 * failure must become before it is turned into a Temporal failure (which
 * records message, stack and cause chain in the workflow history). Keeps the
 * error's class and name (so `BadInput` stays non-retryable) and any other
 * own properties (e.g. an ApplicationFailure's type and nonRetryable flag).
 */
export function redactError<T>(err: T, depth = 0): T {
  if (!(err instanceof Error)) return (typeof err === 'string' ? redact(err) : err) as T;
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Error & Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(err)) {
    const v = (err as unknown as Record<string, unknown>)[key];
    const value =
      key === 'cause' && depth < 10
        ? redactError(v, depth + 1)
        : key === 'details'
          ? redactValue(v)
          : typeof v === 'string'
            ? redact(v)
            : v;
    Object.defineProperty(copy, key, {
      value,
      writable: true,
      configurable: true,
      enumerable: Object.getOwnPropertyDescriptor(err, key)?.enumerable ?? false,
    });
  }
  return copy as T;
}
