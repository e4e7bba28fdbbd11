// Activities the workflow itself needs (on the workflow queue): the step cache.
// A step's cache key hashes its kind@version, its resolved arguments and the
// content hashes of the artifacts those arguments name, so a changed input
// misses even when its URI is the same.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { CacheLookupResult, CacheLookupTask, CacheRecordTask, StepOutputs } from './contract.js';
import { sharedStore } from './shared-store.js';
import type { ArtifactStore } from '../store/artifacts.js';
import { canonicalJson } from '../spec/canonical-json.js';
import { Channels } from '../store/channels.js';
import { ApplicationFailure } from '@temporalio/common';

const cacheUri = (store: ArtifactStore, kind: string, version: string, key: string) =>
  `s3://${store.bucket}/cache/${kind}@${version}/${key}.json`;

export async function cacheLookup(task: CacheLookupTask): Promise<CacheLookupResult> {
  const store = await sharedStore();
  const key = await cacheKey(store, task);
  const uri = cacheUri(store, task.kind, task.version, key);
  if (!(await store.exists(uri))) return { key };
  const entry = (await store.readJson(uri)) as { outputs: StepOutputs; runId: string; stepId: string };
  for (const value of Object.values(entry.outputs)) {
    if (typeof value === 'string' && value.startsWith('s3://') && !(await store.exists(value))) return { key };
  }
  return { key, hit: entry };
}

export async function cacheRecord(task: CacheRecordTask): Promise<void> {
  const store = await sharedStore();
  await store.putJson(
    cacheUri(store, task.kind, task.version, task.key),
    { outputs: task.outputs, runId: task.runId, stepId: task.stepId },
    { kind: 'other', producer: { runId: task.runId, stepId: task.stepId, attempt: 1 } },
  );
}

// A new bpoflow release may change what a kind computes without a new kind version,
// so the release is part of the key: an upgrade never reuses an older release's outputs.
// This file runs as dist/activities/control.js, two levels below package.json.
const packageJson = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
const ENGINE = (JSON.parse(packageJson) as { version: string }).version;

async function cacheKey(store: ArtifactStore, task: CacheLookupTask): Promise<string> {
  const material = await withContentHashes(store, task.args);
  return createHash('sha256')
    .update(canonicalJson({ uses: `${task.kind}@${task.version}`, engine: ENGINE, args: material }))
    .digest('hex');
}

async function withContentHashes(store: ArtifactStore, value: unknown): Promise<unknown> {
  if (typeof value === 'string' && value.startsWith('s3://'))
    return { uri: value, sha256: await store.digestOf(value) };
  if (Array.isArray(value)) return Promise.all(value.map((v) => withContentHashes(store, v)));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await withContentHashes(store, v);
    return out;
  }
  return value;
}

/**
 * Resolves `channel://<name>` references to the channel's latest model at run
 * start, so every step of a run (and every retry) sees the same model.
 */
export async function resolveChannels(names: string[]): Promise<Record<string, string>> {
  const store = await sharedStore();
  const channels = new Channels(store);
  const out: Record<string, string> = {};
  for (const name of names) {
    const pointer = await channels.latest(name);
    if (!pointer)
      throw ApplicationFailure.nonRetryable(
        `channel "${name}" has no model yet: promote one first (model.promote@v1)`,
        'BadInput',
      );
    out[name] = pointer.modelUri;
  }
  return out;
}
