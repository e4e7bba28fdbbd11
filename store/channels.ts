/**
 * Model channels: named pointers to model artifacts (e.g. `prod`, `candidate`).
 *
 *   models/<channel>/latest                               JSON pointer (current promotion)
 *   models/<channel>/history/<yyyymmddThhmmssmmmZ>-<seq>.json  one record per promotion
 *
 * Concurrency (lock-free, compare-and-swap): `promote` reads `latest` with its ETag, then writes
 * the new pointer (seq = previous seq + 1) with `If-Match: <etag>` (or `If-None-Match: *` for the
 * first promotion). A concurrent promoter makes the write fail with 412 PreconditionFailed; we
 * re-read and retry with backoff. The history record is written after the pointer with
 * `If-None-Match: *` (idempotent); `history()` repairs a record missing because a promoter died
 * between the two writes. This relies on the server honouring conditional PUTs (SeaweedFS and
 * AWS S3 do); on a server that ignores them, concurrent promotions degrade to last-writer-wins.
 */
import type { ArtifactStore } from './artifacts.js';
import { readAll } from './bytes.js';
import { ArtifactStoreError, BucketNotFoundError } from './errors.js';
import { isMissing } from './resilience.js';
import { assertSafeSegment, parseUri } from './keys.js';

export const CHANNEL_SCHEMA = 'bpoflow.channel/v1';

export interface ChannelPointer {
  schema: typeof CHANNEL_SCHEMA;
  channel: string;
  seq: number;
  modelUri: string;
  sha256: string;
  metrics: Record<string, number>;
  runId?: string;
  promotedAt: string;
  /** Key of this promotion's history record. */
  historyKey: string;
}

export class ChannelConflictError extends ArtifactStoreError {
  override name = 'ChannelConflictError';
}

const stamp = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace('.', '');

export class Channels {
  constructor(
    readonly store: ArtifactStore,
    readonly opts: { maxAttempts?: number } = {},
  ) {}

  private keys(channel: string) {
    assertSafeSegment(channel, 'channel');
    return { latest: `models/${channel}/latest`, history: `models/${channel}/history/` };
  }

  private async getJson(key: string): Promise<{ value: ChannelPointer; etag: string } | null> {
    const { objects, bucket } = this.store;
    let got: { etag: string; body: Buffer };
    try {
      // read inside the retried call: a cut while reading is retried too
      got = await objects.retried(`get s3://${bucket}/${key}`, bucket, async (raw) => {
        const r = await raw.get(bucket, key);
        return { etag: r.etag, body: await readAll(r.body) };
      });
    } catch (e) {
      if (isMissing(e) && !(e instanceof BucketNotFoundError)) return null;
      throw e;
    }
    try {
      return { value: JSON.parse(got.body.toString('utf8')) as ChannelPointer, etag: got.etag };
    } catch {
      throw new ArtifactStoreError(`${key} is not valid JSON`);
    }
  }

  /** PUT with a precondition; returns false on 412. */
  private async putIf(
    key: string,
    value: unknown,
    cond: { ifMatch?: string; ifNoneMatch?: boolean },
  ): Promise<boolean> {
    const body = Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');
    try {
      await this.store.objects.put(this.store.bucket, key, body, { contentType: 'application/json', ...cond });
      return true;
    } catch (e) {
      const { code, statusCode } = e as { code?: string; statusCode?: number };
      if (code === 'PreconditionFailed' || statusCode === 412) return false;
      throw e;
    }
  }

  /** Point `channel` at `modelUri` (which must exist). Returns the new pointer. */
  async promote(
    channel: string,
    modelUri: string,
    info: { metrics?: Record<string, number>; runId?: string } = {},
  ): Promise<ChannelPointer> {
    const k = this.keys(channel);
    parseUri(modelUri);
    const m = await this.store.manifest(modelUri);
    const max = this.opts.maxAttempts ?? 20;
    for (let attempt = 0; attempt < max; attempt++) {
      const cur = await this.getJson(k.latest);
      const seq = (cur?.value.seq ?? 0) + 1;
      const now = new Date();
      const ptr: ChannelPointer = {
        schema: CHANNEL_SCHEMA,
        channel,
        seq,
        modelUri: m.uri,
        sha256: m.sha256,
        metrics: info.metrics ?? {},
        ...(info.runId ? { runId: info.runId } : {}),
        promotedAt: now.toISOString(),
        historyKey: `${k.history}${stamp(now)}-${String(seq).padStart(8, '0')}.json`,
      };
      const ok = await this.putIf(k.latest, ptr, cur ? { ifMatch: cur.etag } : { ifNoneMatch: true });
      if (ok) {
        await this.putIf(ptr.historyKey, ptr, { ifNoneMatch: true });
        return ptr;
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random())));
    }
    throw new ChannelConflictError(`promote ${channel}: gave up after ${max} conflicting attempts`);
  }

  /** Current pointer, or null if the channel was never promoted. */
  async latest(channel: string): Promise<ChannelPointer | null> {
    return (await this.getJson(this.keys(channel).latest))?.value ?? null;
  }

  /** All promotions, oldest first. */
  async history(channel: string): Promise<ChannelPointer[]> {
    const k = this.keys(channel);
    const entries = await this.store.list(`s3://${this.store.bucket}/${k.history}`);
    const out: ChannelPointer[] = [];
    for (const e of entries) {
      const j = await this.getJson(e.key);
      if (j) out.push(j.value);
    }
    const latest = await this.latest(channel);
    if (latest && !out.some((p) => p.seq === latest.seq)) {
      // the promoter died between pointer and history writes: repair
      await this.putIf(latest.historyKey, latest, { ifNoneMatch: true });
      out.push(latest);
    }
    return out.sort((a, b) => a.seq - b.seq);
  }
}

export const promote = (
  store: ArtifactStore,
  channel: string,
  modelUri: string,
  info: { metrics?: Record<string, number>; runId?: string } = {},
) => new Channels(store).promote(channel, modelUri, info);
export const latest = (store: ArtifactStore, channel: string) => new Channels(store).latest(channel);
export const history = (store: ArtifactStore, channel: string) => new Channels(store).history(channel);
