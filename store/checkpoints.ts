/**
 * Training checkpoints as bundle artifacts at
 * `s3://<bucket>/runs/<run>/<step>/checkpoints/<training step, zero-padded to 10 digits>`.
 *
 * - `save` publishes a bundle (one blob per file) whose manifest carries
 *   `attributes: {checkpoint: {step, metric}}`, then applies the retention policy, if any.
 * - `latestCheckpoint` loads the newest checkpoint whose every blob is present and verifies;
 *   a corrupt one (missing/tampered blob, broken manifest) is skipped in favour of the previous.
 * - Retention keeps the last `keepLast` checkpoints plus the best one by a named metric
 *   (`mode: 'min'` = lower is better). Pruning deletes manifests only; the blobs become
 *   garbage for `ArtifactStore.gc`.
 */
import {
  ArtifactIntegrityError,
  ArtifactNotFoundError,
  ArtifactStoreError,
  ManifestError,
  type ArtifactManifest,
  type ArtifactRef,
  type ArtifactStore,
  type Producer,
} from './artifacts.js';
import { assertSafeSegment, formatUri } from './keys.js';

export interface CheckpointMeta {
  /** Training step (non-negative integer); orders checkpoints. */
  step: number;
  /** Named metrics at this step, e.g. `{loss: 0.31, reward_acc: 0.72}`. */
  metric?: Record<string, number>;
}

export interface CheckpointInput {
  files: Record<string, Uint8Array>;
  meta: CheckpointMeta;
}

export interface RetentionPolicy {
  /** Keep the newest K checkpoints (K >= 1). */
  keepLast?: number;
  /** Additionally keep the best checkpoint by this metric. */
  best?: { metric: string; mode: 'min' | 'max' };
}

export interface CheckpointInfo {
  uri: string;
  step: number;
  metric: Record<string, number>;
  sha256: string;
  size: number;
  createdAt: string;
}

export interface LoadedCheckpoint extends CheckpointInfo {
  files: Record<string, Uint8Array>;
  /** Newer checkpoints that were skipped because they failed verification. */
  skipped: { uri: string; reason: string }[];
}

export const CHECKPOINT_PAD = 10;

export function checkpointKey(runId: string, stepId: string, step: number): string {
  assertSafeSegment(runId, 'run id');
  assertSafeSegment(stepId, 'step id');
  if (!Number.isSafeInteger(step) || step < 0)
    throw new ArtifactStoreError(`checkpoint step must be a non-negative integer, got ${step}`);
  return `runs/${runId}/${stepId}/checkpoints/${String(step).padStart(CHECKPOINT_PAD, '0')}`;
}

function infoOf(m: ArtifactManifest, fallbackStep: number): CheckpointInfo {
  const c = (m.attributes?.checkpoint ?? {}) as { step?: number; metric?: Record<string, number> };
  return {
    uri: m.uri,
    step: typeof c.step === 'number' ? c.step : fallbackStep,
    metric: c.metric ?? {},
    sha256: m.sha256,
    size: m.size,
    createdAt: m.createdAt,
  };
}

export class Checkpoints {
  constructor(
    readonly store: ArtifactStore,
    readonly opts: { retention?: RetentionPolicy } = {},
  ) {
    const k = opts.retention?.keepLast;
    if (k !== undefined && (!Number.isInteger(k) || k < 1))
      throw new ArtifactStoreError('retention.keepLast must be an integer >= 1');
  }

  uri(runId: string, stepId: string, step: number): string {
    return formatUri(this.store.bucket, checkpointKey(runId, stepId, step));
  }

  /** Publish a checkpoint, then prune according to the retention policy. */
  async save(
    runId: string,
    stepId: string,
    ckpt: CheckpointInput,
    opts: { producer?: Producer; inputs?: string[] } = {},
  ): Promise<ArtifactRef & { step: number; pruned: string[] }> {
    const uri = this.uri(runId, stepId, ckpt.meta.step);
    for (const [k, v] of Object.entries(ckpt.meta.metric ?? {})) {
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new ArtifactStoreError(`checkpoint metric ${JSON.stringify(k)} must be a finite number`);
    }
    const ref = await this.store.putBundle(uri, ckpt.files, {
      kind: 'checkpoint',
      producer: opts.producer ?? { runId, stepId },
      ...(opts.inputs ? { inputs: opts.inputs } : {}),
      attributes: { checkpoint: { step: ckpt.meta.step, metric: ckpt.meta.metric ?? {} } },
    });
    const pruned = this.opts.retention ? (await this.prune(runId, stepId, this.opts.retention)).removed : [];
    return { ...ref, step: ckpt.meta.step, pruned };
  }

  /** All checkpoints of a step, oldest first (manifests only; blobs are not verified). */
  async list(runId: string, stepId: string): Promise<CheckpointInfo[]> {
    const prefix = `s3://${this.store.bucket}/${checkpointKey(runId, stepId, 0).replace(/[^/]+$/, '')}`;
    const entries = await this.store.list(prefix, { details: true });
    const out: CheckpointInfo[] = [];
    for (const e of entries) {
      const name = e.key.slice(e.key.lastIndexOf('/') + 1);
      if (!/^\d+$/.test(name) || !e.manifest || e.manifest.kind !== 'checkpoint') continue;
      out.push(infoOf(e.manifest, Number(name)));
    }
    return out.sort((a, b) => a.step - b.step);
  }

  /** Load and verify one checkpoint. Throws ArtifactIntegrityError when a blob is missing/tampered. */
  async load(uri: string): Promise<LoadedCheckpoint> {
    const m = await this.store.manifest(uri);
    if (m.kind !== 'checkpoint' || !m.files) throw new ArtifactStoreError(`${uri} is not a checkpoint bundle`);
    const files = await this.store.readBundle(uri);
    return { ...infoOf(m, -1), files, skipped: [] };
  }

  /** Newest checkpoint that loads and verifies, or null when there is none. */
  async latestCheckpoint(runId: string, stepId: string): Promise<LoadedCheckpoint | null> {
    const all = await this.list(runId, stepId);
    const skipped: { uri: string; reason: string }[] = [];
    for (let i = all.length - 1; i >= 0; i--) {
      try {
        const c = await this.load(all[i]!.uri);
        return { ...c, skipped };
      } catch (e) {
        if (e instanceof ArtifactIntegrityError || e instanceof ManifestError || e instanceof ArtifactNotFoundError) {
          skipped.push({ uri: all[i]!.uri, reason: e.message });
          continue;
        }
        throw e;
      }
    }
    return null;
  }

  /** Apply a retention policy: keep the newest `keepLast` and the best by metric; delete the rest. */
  async prune(
    runId: string,
    stepId: string,
    policy: RetentionPolicy = this.opts.retention ?? {},
  ): Promise<{ removed: string[]; kept: string[] }> {
    const all = await this.list(runId, stepId);
    const keep = new Set<string>();
    const k = policy.keepLast ?? all.length;
    for (const c of all.slice(Math.max(0, all.length - k))) keep.add(c.uri);
    if (policy.best) {
      const { metric, mode } = policy.best;
      let best: CheckpointInfo | undefined;
      for (const c of all) {
        const v = c.metric[metric];
        if (typeof v !== 'number') continue;
        const bv = best?.metric[metric];
        if (best === undefined || (mode === 'min' ? v < bv! : v > bv!)) best = c;
      }
      if (best) keep.add(best.uri);
    }
    const removed: string[] = [];
    for (const c of all) {
      if (keep.has(c.uri)) continue;
      await this.store.remove(c.uri);
      removed.push(c.uri);
    }
    return { removed, kept: all.filter((c) => keep.has(c.uri)).map((c) => c.uri) };
  }
}
