// `bpoflow serve MODEL`: an OpenAI-compatible HTTP server for a bpoflow model
// (a local directory, an s3:// model artifact or channel://<name>).
//
//   POST /v1/chat/completions   messages → one prompt via the chat template below,
//                               n, temperature, top_p, top_k, max_tokens
//                               (or max_completion_tokens), stop, seed
//   POST /v1/completions        prompt (string) with the same sampling fields
//   GET  /v1/models             the one model served
//   GET  /health                {status: "ok", …}
//
// Chat template (as the training kinds use it, activities/steps/common.ts):
// one line per message, "System: …\n" / "User: …\n" / "Assistant: …\n", then
// "Assistant: " as the generation prompt. Message content may be a string or a
// list of {type: "text", text} parts. Without `seed` a random seed is drawn; with
// it, the same request gives the same completions. `n` completions are sampled
// together as one batch. finish_reason is "stop" when the model emitted EOS or a
// stop string, "length" when max_tokens (or the context window) ran out.
// Requests are served one at a time (generation is CPU-bound and synchronous).
//
// Guard (cli/serve-guard.ts): with an API key (`--api-key-file` or
// $BPOFLOW_SERVE_API_KEY; required beyond loopback) every route but
// GET /health needs `Authorization: Bearer <key>` (or `x-api-key`), else 401;
// more than `--max-concurrent` requests in flight get 429; a body over
// `--max-body-bytes` gets 413.
import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { basename } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  deserializeModel,
  generateTokens,
  tokenizerOf,
  loadModel,
  selectBackend,
  type BackendPref,
  type CausalLM,
  type Tokenizer,
} from '../ml/index.js';
import { ArtifactStore } from '../store/artifacts.js';
import { renderChat } from '../activities/steps/common.js';
import { resolveModelUri } from '../activities/steps/model-io.js';
import type { ChatMessage, Role } from '../formats/index.js';
import {
  checkApiKey,
  ConcurrencyGate,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_CONCURRENT,
  isLoopback,
  resolveServeApiKey,
  ServeConfigError,
} from './serve-guard.js';

export interface ServeOptions {
  model: string;
  port: number;
  host: string;
  /** Model id reported by the API; default: the model path's last segment. */
  name?: string;
  backend?: BackendPref;
  /** Upper bound on max_tokens. Default 512. */
  maxTokensLimit?: number;
  /** Upper bound on n. Default 16. */
  maxN?: number;
  /** Required on every route but /health when set; must be set when `host` is not loopback. */
  apiKey?: string;
  /** Requests in flight beyond this get 429. Default 4. */
  maxConcurrent?: number;
  /** Request bodies beyond this get 413. Default 1 MiB. */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface RunningServer {
  server: Server;
  url: string;
  modelName: string;
  close(): Promise<void>;
}

export async function loadServedModel(ref: string): Promise<CausalLM> {
  if (ref.startsWith('s3://') || ref.startsWith('channel://')) {
    const store = ArtifactStore.fromEnv();
    return deserializeModel(await store.readBundle(await resolveModelUri(store, ref)));
  }
  return loadModel(ref);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

const ROLES = new Set<Role>(['system', 'user', 'assistant', 'tool']);

function parseMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0) throw new HttpError(400, '"messages" must be a non-empty array', 'messages');
  return v.map((m, i) => {
    const o = m as { role?: unknown; content?: unknown };
    let role = o?.role as string;
    if (role === 'developer') role = 'system';
    if (!ROLES.has(role as Role))
      throw new HttpError(400, `messages[${i}].role must be system, user, assistant or tool`, `messages[${i}].role`);
    let content: string;
    if (typeof o.content === 'string') content = o.content;
    else if (Array.isArray(o.content))
      content = o.content
        .map((p: { type?: string; text?: unknown }) => (p?.type === 'text' && typeof p.text === 'string' ? p.text : ''))
        .join('');
    else if (o.content === null || o.content === undefined) content = '';
    else
      throw new HttpError(
        400,
        `messages[${i}].content must be a string or a list of text parts`,
        `messages[${i}].content`,
      );
    return { role: role as Role, content };
  });
}

interface Sampling {
  n: number;
  temperature: number;
  topP: number;
  topK: number;
  maxTokens: number;
  stop: string[];
  seed: number;
}

function parseSampling(b: Record<string, unknown>, opts: ServeOptions): Sampling {
  const numField = (k: string, d: number, min: number, max: number, int = false): number => {
    const v = b[k];
    if (v === undefined || v === null) return d;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v)))
      throw new HttpError(400, `"${k}" must be ${int ? 'an integer' : 'a number'} in [${min}, ${max}]`, k);
    return v;
  };
  const limit = opts.maxTokensLimit ?? 512;
  const maxTokens =
    b.max_completion_tokens !== undefined && b.max_completion_tokens !== null
      ? numField('max_completion_tokens', 64, 1, limit, true)
      : numField('max_tokens', 64, 1, limit, true);
  let stop: string[] = [];
  if (typeof b.stop === 'string') stop = [b.stop];
  else if (Array.isArray(b.stop)) {
    if (!b.stop.every((s) => typeof s === 'string') || b.stop.length > 4)
      throw new HttpError(400, '"stop" must be a string or up to 4 strings', 'stop');
    stop = b.stop as string[];
  } else if (b.stop !== undefined && b.stop !== null)
    throw new HttpError(400, '"stop" must be a string or a list of strings', 'stop');
  if (b.stream === true) throw new HttpError(400, 'streaming is not supported by bpoflow serve', 'stream');
  return {
    n: numField('n', 1, 1, opts.maxN ?? 16, true),
    temperature: numField('temperature', 1, 0, 2),
    topP: numField('top_p', 1, Number.MIN_VALUE, 1),
    topK: numField('top_k', 0, 0, 1_000_000, true),
    maxTokens,
    stop,
    seed: numField('seed', randomInt(0, 2 ** 31 - 1), 0, Number.MAX_SAFE_INTEGER, true),
  };
}

interface Completion {
  text: string;
  finish: 'stop' | 'length';
  tokens: number;
}

function complete(
  model: CausalLM,
  tok: Tokenizer,
  prompt: string,
  s: Sampling,
): { completions: Completion[]; promptTokens: number } {
  const budget = model.config.n_positions;
  const promptIds = tok.tokenize(prompt);
  const promptTokens = Math.max(1, Math.min(promptIds.length, Math.max(1, budget - s.maxTokens)));
  const allowed = Math.min(s.maxTokens, budget - promptTokens);
  const r = generateTokens(model, tok, new Array(s.n).fill(prompt), {
    maxNewTokens: s.maxTokens,
    temperature: s.temperature,
    topP: s.topP,
    topK: s.topK,
    stop: s.stop,
    seed: s.seed,
  });
  const completions = r.texts.map((text, i) => {
    const ids = r.tokens[i]!;
    const cutByStop = tok.detokenize(ids).length > text.length;
    // Fewer tokens than allowed and no stop string: the model emitted EOS.
    const finish: 'stop' | 'length' = cutByStop || ids.length < allowed ? 'stop' : 'length';
    return { text, finish, tokens: ids.length + (finish === 'stop' && !cutByStop ? 1 : 0) };
  });
  return { completions, promptTokens };
}

async function readBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit)
    throw new HttpError(413, `request body too large: ${declared} bytes, the limit is ${limit}`);
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n > limit) {
        // Stop reading; the 413 goes out with `connection: close` and the socket is dropped after it.
        req.off('data', onData);
        req.pause();
        reject(new HttpError(413, `request body too large: over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'request body must be JSON');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, 'request body must be a JSON object');
  return v as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

const errorBody = (e: HttpError) => ({ error: { message: e.message, type: e.type, param: e.param, code: null } });

export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  if (opts.apiKey === undefined && !isLoopback(opts.host))
    throw new ServeConfigError(`refusing to serve on ${opts.host} without an API key`);
  const gate = new ConcurrencyGate(opts.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
  const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const backend = await selectBackend(opts.backend ?? 'auto');
  const model = await loadServedModel(opts.model);
  const tok = tokenizerOf(model);
  const modelName = opts.name ?? (basename(opts.model.replace(/\/+$/, '')) || 'bpoflow-model');
  const created = Math.floor(Date.now() / 1000);
  const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (req.method === 'GET' && (path === '/health' || path === '/healthz')) {
      // Open to liveness probes; what is served is told only to callers with the key.
      if (!checkApiKey(req, opts.apiKey)) return send(res, 200, { status: 'ok' });
      return send(res, 200, {
        status: 'ok',
        model: modelName,
        parameters: model.parameterCount(),
        tokenizer: model.tokenizerName,
        backend: backend.name,
      });
    }
    if (!checkApiKey(req, opts.apiKey)) {
      return send(
        res,
        401,
        {
          error: {
            message: 'missing or invalid API key (send Authorization: Bearer <key>)',
            type: 'invalid_request_error',
            param: null,
            code: 'invalid_api_key',
          },
        },
        { 'www-authenticate': 'Bearer' },
      );
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, {
        object: 'list',
        data: [{ id: modelName, object: 'model', created, owned_by: 'bpoflow' }],
      });
    }
    if (req.method === 'GET' && path === `/v1/models/${modelName}`)
      return send(res, 200, { id: modelName, object: 'model', created, owned_by: 'bpoflow' });
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/completions')) {
      const body = await readBody(req, maxBody);
      const chat = path === '/v1/chat/completions';
      let prompt: string;
      if (chat) prompt = renderChat(parseMessages(body.messages));
      else {
        if (typeof body.prompt !== 'string') throw new HttpError(400, '"prompt" must be a string', 'prompt');
        prompt = body.prompt;
      }
      const s = parseSampling(body, opts);
      const started = Date.now();
      const { completions, promptTokens } = complete(model, tok, prompt, s);
      const completionTokens = completions.reduce((a, c) => a + c.tokens, 0);
      log(`${req.method} ${path} n=${s.n} max_tokens=${s.maxTokens} seed=${s.seed} ${Date.now() - started}ms`);
      const id = `${chat ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
      const now = Math.floor(Date.now() / 1000);
      if (chat) {
        return send(res, 200, {
          id,
          object: 'chat.completion',
          created: now,
          model: modelName,
          system_fingerprint: `bpoflow-${backend.name}`,
          choices: completions.map((c, index) => ({
            index,
            message: { role: 'assistant', content: c.text },
            logprobs: null,
            finish_reason: c.finish,
          })),
          usage: usage(promptTokens, completionTokens),
        });
      }
      return send(res, 200, {
        id,
        object: 'text_completion',
        created: now,
        model: modelName,
        choices: completions.map((c, index) => ({ index, text: c.text, logprobs: null, finish_reason: c.finish })),
        usage: usage(promptTokens, completionTokens),
      });
    }
    throw new HttpError(404, `no route ${req.method} ${url.pathname}`, null, 'not_found_error');
  };

  const server = createServer((req, res) => {
    const health = req.method === 'GET' && /^\/healthz?\/?(\?|$)/.test(req.url ?? '');
    if (!health && !gate.tryEnter()) {
      return send(
        res,
        429,
        errorBody(
          new HttpError(
            429,
            `too many concurrent requests (at most ${gate.max}); retry shortly`,
            null,
            'rate_limit_exceeded',
          ),
        ),
        { 'retry-after': '1' },
      );
    }
    if (!health) res.once('close', () => gate.leave());
    handle(req, res).catch((err: unknown) => {
      const e =
        err instanceof HttpError
          ? err
          : new HttpError(500, err instanceof Error ? err.message : String(err), null, 'server_error');
      // An unread body is not drained: the connection closes after the answer.
      if (!res.headersSent) send(res, e.status, errorBody(e), e.status === 413 ? { connection: 'close' } : {});
      else res.end();
      if (e.status === 413) res.once('finish', () => req.socket.destroySoon());
    });
  });
  // A client that never finishes its request must not hold a slot for long.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  return {
    server,
    url,
    modelName,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        model.dispose();
      }),
  };
}

/** The CLI entry: serves until SIGINT/SIGTERM. Prints `listening on <url>` on stdout when ready. */
export async function runServe(opts: ServeOptions & { apiKeyFile?: string }): Promise<void> {
  const apiKey = resolveServeApiKey({ host: opts.host, apiKeyFile: opts.apiKeyFile });
  const s = await startServer({ ...opts, apiKey });
  if (!apiKey) process.stderr.write(`serve: no API key set: only this machine can connect (${opts.host})\n`);
  process.stdout.write(`serving ${s.modelName} (${opts.model}) listening on ${s.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void s.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
