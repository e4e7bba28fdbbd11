/**
 * Functions behind `bpoflow artifacts ...`. They return strings/objects (or write to a given
 * Writable) and never print by themselves. Each takes an optional store (default: from env /
 * `.bpoflow/s3.json`).
 */
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactStore, type ArtifactRef, type GcResult, type LineageNode } from '../store/artifacts.js';
import { formatUri } from '../store/keys.js';

const getStore = (s?: ArtifactStore): ArtifactStore => s ?? ArtifactStore.fromEnv();

const human = (n: number): string => {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${u[i]}`;
};

/** `bpoflow artifacts ls [prefix]`: one line per object: kind, size, date, URI. */
export async function artifactsLs(prefix = '', opts: { store?: ArtifactStore } = {}): Promise<string> {
  const store = getStore(opts.store);
  const entries = await store.list(prefix, { details: true });
  if (entries.length === 0) return `(no artifacts under ${prefix || `s3://${store.bucket}/`})\n`;
  const rows = entries.map((e) => {
    const kind = e.manifest
      ? e.manifest.files
        ? `${e.manifest.kind}[${Object.keys(e.manifest.files).length}]`
        : e.manifest.kind
      : 'object';
    const size = e.manifest ? e.manifest.size : e.size;
    return [kind, human(size), e.lastModified.toISOString().slice(0, 19).replace('T', ' '), e.uri];
  });
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  return (
    rows.map((r) => `${r[0]!.padEnd(w[0]!)}  ${r[1]!.padStart(w[1]!)}  ${r[2]!.padEnd(w[2]!)}  ${r[3]}`).join('\n') +
    '\n'
  );
}

/**
 * `bpoflow artifacts get <uri> [path]`: download to `path` (a directory for bundles), or stream
 * the verified bytes to `out` (default process.stdout) when no path is given.
 */
export async function artifactsGet(
  uri: string,
  localPath?: string,
  opts: { store?: ArtifactStore; out?: Writable } = {},
): Promise<ArtifactRef> {
  const store = getStore(opts.store);
  if (localPath) return store.download(uri, localPath);
  const s = await store.open(uri);
  const out = opts.out ?? process.stdout;
  await pipeline(s, out, { end: out !== process.stdout });
  const v = s as unknown as { sha256: string; size: number };
  return { uri, sha256: v.sha256, size: v.size };
}

/** `bpoflow artifacts put <path> [uri]`: default URI `s3://<bucket>/uploads/<basename>`. */
export async function artifactsPut(
  localPath: string,
  uri?: string,
  opts: { store?: ArtifactStore; kind?: 'dataset' | 'model' | 'checkpoint' | 'metrics' | 'report' | 'other' } = {},
): Promise<ArtifactRef> {
  const store = getStore(opts.store);
  const target = uri ?? formatUri(store.bucket, `uploads/${path.basename(localPath)}`);
  const kind = opts.kind ?? (/\.(jsonl|ndjson)$/i.test(localPath) ? 'dataset' : 'other');
  return store.put(target, localPath, { kind });
}

export function formatLineage(node: LineageNode, indent = ''): string {
  const flags = [node.missing ? 'MISSING' : '', node.changed ? 'CHANGED since use' : '', node.cycle ? 'see above' : '']
    .filter(Boolean)
    .join(', ');
  const p = node.manifest?.producer;
  const by = p ? ` by ${p.runId}/${p.stepId}${p.attempt !== undefined ? `#${p.attempt}` : ''}` : '';
  let s = `${indent}${node.kind} ${node.uri} sha256:${node.sha256.slice(0, 12)}${by}${flags ? ` [${flags}]` : ''}\n`;
  if (!node.cycle) for (const c of node.inputs) s += formatLineage(c, indent + '  ');
  return s;
}

/** `bpoflow artifacts show <uri>`: manifest (pretty JSON) and lineage tree as text. */
export async function artifactsShow(uri: string, opts: { store?: ArtifactStore } = {}): Promise<string> {
  const store = getStore(opts.store);
  const m = await store.manifest(uri);
  const tree = await store.lineage(uri);
  return `${JSON.stringify(m, null, 2)}\n\nLineage:\n${formatLineage(tree, '  ')}`;
}

/** `bpoflow artifacts gc [--dry-run]`. */
export async function artifactsGc(
  opts: { store?: ArtifactStore; dryRun?: boolean; graceMs?: number } = {},
): Promise<{ result: GcResult; text: string }> {
  const store = getStore(opts.store);
  const result = await store.gc({
    dryRun: !!opts.dryRun,
    ...(opts.graceMs !== undefined ? { graceMs: opts.graceMs } : {}),
  });
  const head = `${result.dryRun ? 'would remove' : 'removed'} ${result.removed.length} object(s); ${result.manifestsScanned} manifest(s) reference ${result.blobsReferenced} blob(s)`;
  return { result, text: [head, ...result.removed.map((r) => `  ${r}`)].join('\n') + '\n' };
}
