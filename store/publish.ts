/**
 * Publishing: the manifest that makes uploaded blobs an artifact. It is written last, in one
 * PUT (atomic), so readers see the old artifact or the new one, never a part of it.
 */
import { mapLimit } from './bytes.js';
import { ArtifactStoreError } from './errors.js';
import { parseUri } from './keys.js';
import {
  ARTIFACT_KINDS,
  MANIFEST_MEDIA_TYPE,
  MANIFEST_META,
  MANIFEST_SCHEMA,
  manifestBytes,
  type ArtifactInput,
  type ArtifactKind,
  type ArtifactManifest,
  type BundleFile,
  type Producer,
} from './manifest.js';
import { isMissing } from './resilience.js';
import type { RetryingObjects } from './retrying-objects.js';

export interface PutMeta {
  kind: ArtifactKind;
  mediaType?: string;
  producer?: Producer;
  /** URIs (or already-known `{uri, sha256}`) of the artifacts this one was derived from. */
  inputs?: Array<string | ArtifactInput>;
  /** Free-form attributes stored in the manifest; a function is called after the bytes are uploaded. */
  attributes?: Record<string, unknown> | (() => Record<string, unknown>);
}

/** What the manifest points at: one blob, or a bundle's member files. */
export type Content = { size: number; sha256: string; mediaType: string } & (
  { blob: string } | { files: Record<string, BundleFile> }
);

export function assertKind(kind: ArtifactKind): void {
  if (!ARTIFACT_KINDS.includes(kind)) throw new ArtifactStoreError(`unknown artifact kind ${JSON.stringify(kind)}`);
}

/** The inputs as recorded: a URI is looked up (`digestOf`), a `{uri, sha256}` is checked. */
export async function resolveInputs(
  inputs: PutMeta['inputs'],
  digestOf: (uri: string) => Promise<string>,
): Promise<ArtifactInput[]> {
  const out: ArtifactInput[] = [];
  for (const inp of inputs ?? []) {
    if (typeof inp === 'string') {
      out.push({ uri: inp, sha256: await digestOf(inp) });
      continue;
    }
    parseUri(inp.uri);
    if (!/^[0-9a-f]{64}$/.test(inp.sha256)) throw new ArtifactStoreError(`input ${inp.uri}: invalid sha256`);
    out.push({ uri: inp.uri, sha256: inp.sha256 });
  }
  return out;
}

export function newManifest(uri: string, meta: PutMeta, inputs: ArtifactInput[], content: Content): ArtifactManifest {
  const attributes = typeof meta.attributes === 'function' ? meta.attributes() : meta.attributes;
  return {
    schema: MANIFEST_SCHEMA,
    uri,
    kind: meta.kind,
    ...content,
    ...(meta.producer ? { producer: meta.producer } : {}),
    inputs,
    ...(attributes ? { attributes } : {}),
    createdAt: new Date().toISOString(),
  };
}

/** Write the manifest, then check its blobs are still there (a gc may have raced the put). */
export async function writeManifest(
  objects: RetryingObjects,
  bucket: string,
  key: string,
  m: ArtifactManifest,
): Promise<void> {
  const body = manifestBytes(m);
  await objects.put(bucket, key, body, { contentType: MANIFEST_MEDIA_TYPE, metadata: { [MANIFEST_META]: 'v1' } });
  const blobs = m.files ? Object.values(m.files).map((f) => f.blob) : [m.blob!];
  await mapLimit(blobs, 8, async (b) => {
    try {
      await objects.stat(bucket, b);
    } catch (e) {
      if (isMissing(e))
        throw new ArtifactStoreError(`blob ${b} of ${m.uri} vanished during publish (concurrent gc?); retry the put`);
      throw e;
    }
  });
}
