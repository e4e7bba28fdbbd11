/**
 * Store configuration: where the S3-compatible server is and which bucket to use.
 *
 * Resolution order:
 *  1. `BPOFLOW_S3_ENDPOINT` (+ `BPOFLOW_S3_ACCESS_KEY`, `BPOFLOW_S3_SECRET_KEY`,
 *     `BPOFLOW_S3_BUCKET`, `BPOFLOW_S3_REGION`) from the environment;
 *  2. the local stack file `$BPOFLOW_HOME/s3.json` (BPOFLOW_HOME defaults to `./.bpoflow`)
 *     written by `bpoflow up`;
 *  3. otherwise a {@link StoreConfigError} telling the user what to do.
 *
 * Credentials are held in non-enumerable properties and are redacted from
 * `JSON.stringify`, `util.inspect`, `toString` and error messages.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';

export class StoreConfigError extends Error {
  override name = 'StoreConfigError';
}

export interface StoreConfigInit {
  endPoint: string;
  port: number;
  useSSL: boolean;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

const REDACTED = '[REDACTED]';

/** Connection settings. `accessKey`/`secretKey` are non-enumerable and never printed. */
export class StoreConfig implements StoreConfigInit {
  readonly endPoint: string;
  readonly port: number;
  readonly useSSL: boolean;
  readonly bucket: string;
  readonly region: string;
  declare readonly accessKey: string;
  declare readonly secretKey: string;

  constructor(init: StoreConfigInit) {
    this.endPoint = init.endPoint;
    this.port = init.port;
    this.useSSL = init.useSSL;
    this.bucket = init.bucket;
    this.region = init.region;
    Object.defineProperty(this, 'accessKey', { value: init.accessKey, enumerable: false, writable: false });
    Object.defineProperty(this, 'secretKey', { value: init.secretKey, enumerable: false, writable: false });
  }

  /** `http(s)://host:port` (no credentials). */
  get endpointUrl(): string {
    return `${this.useSSL ? 'https' : 'http'}://${this.endPoint}:${this.port}`;
  }

  /** Replace any occurrence of the credentials in `text` by `[REDACTED]`. */
  redact(text: string): string {
    return redactSecrets(text, [this.accessKey, this.secretKey]);
  }

  toJSON(): Record<string, unknown> {
    return {
      endPoint: this.endPoint,
      port: this.port,
      useSSL: this.useSSL,
      bucket: this.bucket,
      region: this.region,
      accessKey: REDACTED,
      secretKey: REDACTED,
    };
  }

  toString(): string {
    return `StoreConfig(${this.endpointUrl}, bucket=${this.bucket}, region=${this.region}, credentials=${REDACTED})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 3) out = out.split(s).join(REDACTED);
  }
  return out;
}

function parseEndpoint(endpoint: string, origin: string): { endPoint: string; port: number; useSSL: boolean } {
  let url: URL;
  try {
    url = new URL(endpoint.includes('://') ? endpoint : `http://${endpoint}`);
  } catch {
    throw new StoreConfigError(
      `${origin}: invalid S3 endpoint ${JSON.stringify(endpoint)} (expected e.g. http://127.0.0.1:8333)`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new StoreConfigError(`${origin}: S3 endpoint must be http:// or https://, got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new StoreConfigError(
      `${origin}: do not put credentials in the endpoint URL; use the access/secret key settings`,
    );
  }
  const useSSL = url.protocol === 'https:';
  const port = url.port ? Number(url.port) : useSSL ? 443 : 80;
  return { endPoint: url.hostname.replace(/^\[|\]$/g, ''), port, useSSL };
}

export interface ResolveOptions {
  /** Directory used to resolve the default BPOFLOW_HOME (`./.bpoflow`). Defaults to process.cwd(). */
  cwd?: string;
}

/** Resolve the store configuration from the environment or the local stack's `s3.json`. */
export function resolveStoreConfig(env: NodeJS.ProcessEnv = process.env, opts: ResolveOptions = {}): StoreConfig {
  const region = env.BPOFLOW_S3_REGION || 'us-east-1';
  if (env.BPOFLOW_S3_ENDPOINT) {
    const origin = 'BPOFLOW_S3_ENDPOINT';
    const missing = ['BPOFLOW_S3_ACCESS_KEY', 'BPOFLOW_S3_SECRET_KEY', 'BPOFLOW_S3_BUCKET'].filter((k) => !env[k]);
    if (missing.length) {
      throw new StoreConfigError(
        `BPOFLOW_S3_ENDPOINT is set but ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing`,
      );
    }
    return new StoreConfig({
      ...parseEndpoint(env.BPOFLOW_S3_ENDPOINT, origin),
      accessKey: env.BPOFLOW_S3_ACCESS_KEY!,
      secretKey: env.BPOFLOW_S3_SECRET_KEY!,
      bucket: env.BPOFLOW_S3_BUCKET!,
      region,
    });
  }
  const home = path.resolve(opts.cwd ?? process.cwd(), env.BPOFLOW_HOME || '.bpoflow');
  const file = path.join(home, 's3.json');
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new StoreConfigError(
        `No S3 store configured: ${file} does not exist. Run \`bpoflow up\` to start the local stack, ` +
          `or set BPOFLOW_S3_ENDPOINT, BPOFLOW_S3_ACCESS_KEY, BPOFLOW_S3_SECRET_KEY and BPOFLOW_S3_BUCKET.`,
      );
    }
    throw new StoreConfigError(`Cannot read ${file}: ${code ?? String(e)}`);
  }
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new StoreConfigError(`${file} is not valid JSON; re-run \`bpoflow up\` to regenerate it`);
  }
  const str = (k: string): string => {
    const v = j[k];
    if (typeof v !== 'string' || !v)
      throw new StoreConfigError(`${file}: missing or invalid "${k}"; re-run \`bpoflow up\``);
    return v;
  };
  return new StoreConfig({
    ...parseEndpoint(str('endpoint'), file),
    accessKey: str('accessKey'),
    secretKey: str('secretKey'),
    bucket: str('bucket'),
    region: typeof j.region === 'string' && j.region ? j.region : env.BPOFLOW_S3_REGION || 'us-east-1',
  });
}
