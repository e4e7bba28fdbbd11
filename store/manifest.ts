/**
 * What an artifact is on record: the manifest's shape, its checks and its digests. Pure, no I/O.
 *
 * A manifest (`schema: "bpoflow.artifact/v1"`) is a small JSON object at the artifact's key that
 * names its blob (or, for a bundle, one blob per member file) by content address.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { toBuf } from './bytes.js';
import { ManifestError } from './errors.js';
import { assertSafeKey, UnsafeKeyError } from './keys.js';

export const MANIFEST_SCHEMA = 'bpoflow.artifact/v1';
export const MANIFEST_MEDIA_TYPE = 'application/vnd.bpoflow.manifest+json';
/** Object metadata key (without `x-amz-meta-`) that marks a manifest object. */
export const MANIFEST_META = 'bpoflow-manifest';
/** Object metadata key carrying a blob's sha256 (hex). */
export const SHA_META = 'bpoflow-sha256';
/** Larger objects are never read as manifests. */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

export const ARTIFACT_KINDS = ['dataset', 'model', 'checkpoint', 'metrics', 'report', 'other'] as const;
export type ArtifactKind = (typeof ARTIFACT_KINDS)[number];

export interface Producer {
  runId: string;
  stepId: string;
  attempt?: number;
}

export interface ArtifactInput {
  uri: string;
  sha256: string;
}

export interface BundleFile {
  sha256: string;
  size: number;
  mediaType: string;
  /** Key of the blob in the manifest's bucket. */
  blob: string;
}

export interface ArtifactManifest {
  schema: typeof MANIFEST_SCHEMA;
  uri: string;
  kind: ArtifactKind;
  mediaType: string;
  /** Bytes of the blob, or the sum of member sizes for a bundle. */
  size: number;
  /** Blob sha256, or for a bundle the sha256 of its sorted `name\0sha256\0size\n` listing. */
  sha256: string;
  /** Blob key (single-blob artifacts). */
  blob?: string;
  /** Member files (bundles). */
  files?: Record<string, BundleFile>;
  producer?: Producer;
  inputs: ArtifactInput[];
  /** Free-form caller attributes (e.g. checkpoint step/metrics). */
  attributes?: Record<string, unknown>;
  createdAt: string;
}

export interface ArtifactRef {
  uri: string;
  sha256: string;
  size: number;
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(toBuf(data)).digest('hex');
}

/** Digest of a bundle: sha256 over the sorted `name\0sha256\0size\n` lines of its members. */
export function bundleDigest(files: Record<string, { sha256: string; size: number }>): string {
  const h = createHash('sha256');
  for (const name of Object.keys(files).sort()) {
    const f = files[name]!;
    h.update(`${name}\0${f.sha256}\0${f.size}\n`);
  }
  return h.digest('hex');
}

export function guessMediaType(name: string): string {
  const ext = path.extname(name).toLowerCase();
  switch (ext) {
    case '.json':
      return 'application/json';
    case '.jsonl':
    case '.ndjson':
      return 'application/x-ndjson';
    case '.txt':
    case '.md':
      return 'text/plain';
    case '.csv':
      return 'text/csv';
    case '.yaml':
    case '.yml':
      return 'application/yaml';
    case '.html':
      return 'text/html';
    case '.safetensors':
    case '.bin':
    default:
      return 'application/octet-stream';
  }
}

/**
 * A bundle member's name becomes a path under the download directory: a relative `/`-separated
 * path without `.`/`..` segments, backslashes, drive letters or control characters (NUL).
 */
export function assertMemberName(name: string, uri: string): string {
  try {
    return assertSafeKey(name, { allowReserved: true });
  } catch (e) {
    throw new ManifestError(
      `bundle ${uri}: file name ${JSON.stringify(name)} is not allowed: ` +
        (e instanceof UnsafeKeyError ? e.reason : String(e)),
    );
  }
}

const isBlobKey = (k: string): boolean => /^blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(k);

/** Check a manifest read from the store; exported for tests. */
export function validateManifest(j: unknown, uri: string): ArtifactManifest {
  const bad = (why: string): never => {
    throw new ManifestError(`invalid manifest at ${uri}: ${why}`);
  };
  if (!j || typeof j !== 'object' || Array.isArray(j)) bad('not a JSON object');
  const m = j as Record<string, unknown>;
  if (m.schema !== MANIFEST_SCHEMA) bad(`unknown schema ${JSON.stringify(m.schema)}`);
  if (!ARTIFACT_KINDS.includes(m.kind as ArtifactKind)) bad(`unknown kind ${JSON.stringify(m.kind)}`);
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) bad('missing sha256');
  if (typeof m.size !== 'number' || m.size < 0) bad('missing size');
  if (m.files === undefined && typeof m.blob !== 'string') bad('neither "blob" nor "files"');
  if (m.blob !== undefined && (typeof m.blob !== 'string' || !isBlobKey(m.blob)))
    bad(`"blob" ${JSON.stringify(m.blob)} is not a blob key`);
  if (m.files !== undefined) {
    if (!m.files || typeof m.files !== 'object' || Array.isArray(m.files)) bad('"files" must be an object');
    for (const [name, f] of Object.entries(m.files as Record<string, unknown>)) {
      assertMemberName(name, uri);
      const file = f as Partial<BundleFile> | null;
      if (!file || typeof file !== 'object') bad(`file ${JSON.stringify(name)} is not an object`);
      if (typeof file!.blob !== 'string' || !isBlobKey(file!.blob))
        bad(`file ${JSON.stringify(name)}: "blob" ${JSON.stringify(file!.blob)} is not a blob key`);
      if (typeof file!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(file!.sha256))
        bad(`file ${JSON.stringify(name)}: missing sha256`);
      if (typeof file!.size !== 'number' || file!.size < 0) bad(`file ${JSON.stringify(name)}: missing size`);
    }
  }
  if (!Array.isArray(m.inputs)) bad('"inputs" must be an array');
  return m as unknown as ArtifactManifest;
}

/** The manifest in an object's bytes. */
export function parseManifest(bytes: Buffer, uri: string): ArtifactManifest {
  let j: unknown;
  try {
    j = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new ManifestError(`manifest at ${uri} is not valid JSON`);
  }
  return validateManifest(j, uri);
}

/** A manifest's bytes as they are stored. */
export const manifestBytes = (m: ArtifactManifest): Buffer => Buffer.from(JSON.stringify(m, null, 2) + '\n', 'utf8');
