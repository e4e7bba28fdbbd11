// A minimal OpenAI-compatible `/v1/chat/completions` client (fetch). The API
// key comes from an environment variable whose *name* the pipeline gives
// (`apiKeyEnv`); the key itself never appears in YAML, args or logs.
import { BadInput } from '../step-kind.js';
import { redact, registerSecret } from '../redact.js';

/** What of a response body goes into an error: redacted first (an endpoint may echo the request, key too), then cut. */
const bodyExcerpt = (text: string) => redact(text).slice(0, 300);

export interface ChatEndpoint {
  /** Base URL (`http://host:port`, `…/v1`) or the full `…/v1/chat/completions` URL. */
  url: string;
  model: string;
  /** Name of the environment variable holding the API key (optional for local servers). */
  apiKeyEnv?: string;
  timeoutMs?: number;
  retries?: number;
}

export interface ChatRequest {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  n?: number;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  seed?: number;
  stop?: string[];
}

export function completionsUrl(url: string): string {
  const u = url.replace(/\/+$/, '');
  if (u.endsWith('/chat/completions')) return u;
  if (u.endsWith('/v1')) return `${u}/chat/completions`;
  return `${u}/v1/chat/completions`;
}

export function apiKeyFrom(apiKeyEnv: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!apiKeyEnv) return undefined;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(apiKeyEnv))
    throw new BadInput(`apiKeyEnv must name an environment variable, got "${apiKeyEnv}"`);
  const key = env[apiKeyEnv];
  if (!key) throw new BadInput(`environment variable ${apiKeyEnv} (apiKeyEnv) is not set on the worker`);
  registerSecret(key);
  return key;
}

/** One chat-completions call; returns the choices' message contents. Retries 5xx/network errors. */
export async function chatCompletions(ep: ChatEndpoint, req: ChatRequest, signal?: AbortSignal): Promise<string[]> {
  const key = apiKeyFrom(ep.apiKeyEnv);
  const url = completionsUrl(ep.url);
  const retries = ep.retries ?? 2;
  let lastErr: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    const timeout = AbortSignal.timeout(ep.timeoutMs ?? 120_000);
    const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ model: ep.model, ...req }),
        signal: sig,
      });
      const text = await res.text();
      if (res.status >= 500) {
        lastErr = new Error(`${url}: HTTP ${res.status}: ${bodyExcerpt(text)}`);
        continue;
      }
      if (!res.ok) throw new BadInput(`${url}: HTTP ${res.status}: ${bodyExcerpt(text)}`);
      const body = JSON.parse(text) as { choices?: { index?: number; message?: { content?: string | null } }[] };
      if (!Array.isArray(body.choices)) throw new Error(`${url}: response has no "choices": ${bodyExcerpt(text)}`);
      return [...body.choices].sort((a, b) => (a.index ?? 0) - (b.index ?? 0)).map((c) => c.message?.content ?? '');
    } catch (err) {
      if (err instanceof BadInput || signal?.aborted) throw err;
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
  }
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}

/** n samples for one prompt; asks for n at once and tops up if the server returns fewer. */
export async function sampleChat(
  ep: ChatEndpoint,
  prompt: string,
  n: number,
  opts: Omit<ChatRequest, 'messages' | 'n'>,
  signal?: AbortSignal,
): Promise<string[]> {
  const out: string[] = [];
  let round = 0;
  while (out.length < n && round < n + 2) {
    const got = await chatCompletions(
      ep,
      {
        messages: [{ role: 'user', content: prompt }],
        n: n - out.length,
        ...opts,
        ...(opts.seed !== undefined ? { seed: opts.seed + round } : {}),
      },
      signal,
    );
    if (got.length === 0) break;
    out.push(...got.slice(0, n - out.length));
    round++;
  }
  if (out.length < n) throw new Error(`${completionsUrl(ep.url)} returned ${out.length} of ${n} completions`);
  return out;
}
