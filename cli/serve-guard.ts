// What stands in front of `bpoflow serve`'s model: the API key (required when
// the server binds beyond loopback), a bound on requests in flight, and a
// bound on request bodies.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { registerSecret } from '../activities/redact.js';

export const SERVE_API_KEY_ENV = 'BPOFLOW_SERVE_API_KEY';
export const MIN_API_KEY_LENGTH = 16;
export const DEFAULT_MAX_CONCURRENT = 4;
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export class ServeConfigError extends Error {
  override name = 'ServeConfigError';
}

/** 127.0.0.0/8, ::1 and `localhost`: only this machine can connect. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopback(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

/**
 * The key from `--api-key-file` (first line, trimmed) or $BPOFLOW_SERVE_API_KEY;
 * a server bound beyond loopback refuses to start without one.
 */
export function resolveServeApiKey(
  opts: { host: string; apiKeyFile?: string },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  let key: string | undefined;
  let origin: string;
  if (opts.apiKeyFile) {
    origin = `--api-key-file ${opts.apiKeyFile}`;
    try {
      key = readFileSync(opts.apiKeyFile, 'utf8').split(/\r?\n/)[0]!.trim();
    } catch (e) {
      throw new ServeConfigError(`${origin}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    if (!key) throw new ServeConfigError(`${origin}: the file is empty`);
  } else {
    origin = `$${SERVE_API_KEY_ENV}`;
    key = env[SERVE_API_KEY_ENV]?.trim() || undefined;
  }
  if (key !== undefined && key.length < MIN_API_KEY_LENGTH)
    throw new ServeConfigError(`${origin}: the API key must be at least ${MIN_API_KEY_LENGTH} characters`);
  if (key === undefined && !isLoopback(opts.host)) {
    throw new ServeConfigError(
      `refusing to serve on ${opts.host} without an API key: anyone who can reach the port could generate. ` +
        `Set ${SERVE_API_KEY_ENV} or pass --api-key-file FILE (or bind to 127.0.0.1)`,
    );
  }
  registerSecret(key);
  return key;
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** `Authorization: Bearer <key>` or `x-api-key: <key>`, compared in constant time (equal-length SHA-256 digests). */
export function checkApiKey(req: IncomingMessage, expected: string | undefined): boolean {
  if (expected === undefined) return true;
  const auth = req.headers.authorization;
  const offered = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : (req.headers['x-api-key'] as string | undefined);
  return timingSafeEqual(digest(offered ?? ''), digest(expected)) && offered !== undefined;
}

/** Counts requests in flight; `tryEnter` refuses beyond the bound (the caller answers 429). */
export class ConcurrencyGate {
  private inFlight = 0;
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new ServeConfigError(`--max-concurrent must be an integer >= 1, got ${max}`);
  }
  tryEnter(): boolean {
    if (this.inFlight >= this.max) return false;
    this.inFlight++;
    return true;
  }
  leave(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }
  get active(): number {
    return this.inFlight;
  }
}
