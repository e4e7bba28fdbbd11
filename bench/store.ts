/**
 * Store benchmark: write and read a 256 MiB checkpoint through the artifact store (S3), compared
 * with writing/reading the same bytes on local disk in the same run; and the peak RSS of
 * streaming a 1 GiB artifact up and down (benchStoreStreaming; target < 300 MB).
 *
 *   node dist/bench/store.js [--size-mb 256] [--out results.json] [--dir /tmp]
 *
 * Connection from BPOFLOW_S3_* or .bpoflow/s3.json (like every store client).
 */
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ArtifactStore } from '../store/artifacts.js';
import { Checkpoints } from '../store/checkpoints.js';

export interface BenchStoreOptions {
  sizeMB?: number;
  out?: string;
  store?: ArtifactStore;
  /** Directory for the local-disk comparison. Default os.tmpdir(). */
  dir?: string;
}

export interface BenchStoreResult {
  sizeMB: number;
  endpoint: string;
  partSizeMB: number;
  s3: { writeSeconds: number; readSeconds: number; writeMBps: number; readMBps: number };
  localDisk: { dir: string; writeSeconds: number; readSeconds: number; writeMBps: number; readMBps: number };
  ratio: { write: number; read: number };
  verified: boolean;
  when: string;
}

const secs = (t0: number) => (performance.now() - t0) / 1000;
const round = (x: number) => Math.round(x * 100) / 100;

export async function benchStore(opts: BenchStoreOptions = {}): Promise<BenchStoreResult> {
  const sizeMB = opts.sizeMB ?? 256;
  const store = opts.store ?? ArtifactStore.fromEnv();
  await store.ensureBucket();
  // incompressible bytes (random seed per run, so the blob is never deduplicated)
  const data = randomFillSync(Buffer.allocUnsafe(sizeMB * 1024 * 1024));
  const expected = createHash('sha256').update(data).digest('hex');

  // --- S3 via the checkpoint API
  const run = `bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const ck = new Checkpoints(store);
  let t0 = performance.now();
  const ref = await ck.save(run, 'train', {
    files: { 'model.safetensors': data },
    meta: { step: 1, metric: { loss: 1 } },
  });
  const s3Write = secs(t0);
  t0 = performance.now();
  const loaded = await ck.latestCheckpoint(run, 'train');
  const s3Read = secs(t0);
  const got = loaded?.files['model.safetensors'];
  const verified = !!got && createHash('sha256').update(got).digest('hex') === expected;

  // --- local disk, same bytes
  const dir = await fsp.mkdtemp(path.join(opts.dir ?? tmpdir(), 'bpoflow-bench-'));
  const file = path.join(dir, 'model.safetensors');
  t0 = performance.now();
  const fh = await fsp.open(file, 'w');
  await fh.writeFile(data);
  await fh.sync();
  await fh.close();
  const localWrite = secs(t0);
  t0 = performance.now();
  const back = await fsp.readFile(file);
  createHash('sha256').update(back).digest('hex'); // same verification work as the store read
  const localRead = secs(t0);
  await fsp.rm(dir, { recursive: true, force: true });

  // --- clean up: manifest and its (unique) blob
  const m = await store.manifest(ref.uri);
  await store.remove(ref.uri);
  for (const f of Object.values(m.files ?? {})) await store.objects.remove(store.bucket, f.blob).catch(() => undefined);

  const result: BenchStoreResult = {
    sizeMB,
    endpoint: store.config.endpointUrl,
    partSizeMB: store.partSize / (1024 * 1024),
    s3: {
      writeSeconds: round(s3Write),
      readSeconds: round(s3Read),
      writeMBps: round(sizeMB / s3Write),
      readMBps: round(sizeMB / s3Read),
    },
    localDisk: {
      dir: opts.dir ?? tmpdir(),
      writeSeconds: round(localWrite),
      readSeconds: round(localRead),
      writeMBps: round(sizeMB / localWrite),
      readMBps: round(sizeMB / localRead),
    },
    ratio: { write: round(localWrite / s3Write), read: round(localRead / s3Read) },
    verified,
    when: new Date().toISOString(),
  };
  if (opts.out) await fsp.writeFile(opts.out, JSON.stringify(result, null, 2) + '\n');
  return result;
}

export interface BenchStreamingResult {
  sizeMB: number;
  uploadMBps: number;
  downloadMBps: number;
  peakRssMB: number;
  targetPeakRssMB: number;
  met: boolean;
  verified: boolean;
}

/**
 * Streams `sizeMB` of seeded bytes up and back down (hash-verified) in a child process, the
 * one test/integration/store-large.test.ts runs, so its peak RSS is that of the transfer
 * alone: the memory bound of streaming, whatever the artifact's size.
 */
export async function benchStoreStreaming(
  opts: { sizeMB?: number; store?: ArtifactStore; targetPeakRssMB?: number } = {},
): Promise<BenchStreamingResult> {
  const sizeMB = opts.sizeMB ?? 1024;
  const target = opts.targetPeakRssMB ?? 300;
  const store = opts.store ?? ArtifactStore.fromEnv();
  await store.ensureBucket();
  const run = `bench-stream-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const uri = store.runUri(run, 'gen', 'big.bin');
  const child = fileURLToPath(new URL('../test/fixtures/store/large-child.js', import.meta.url));
  const args = [child, uri, String(sizeMB)];
  const { stdout } = await promisify(execFile)(process.execPath, args, { env: process.env, maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, number | string>;
  await store.remove(uri);
  const peakRssMB = round((r.peakRssBytes as number) / (1024 * 1024));
  return {
    sizeMB,
    uploadMBps: round(r.uploadMBps as number),
    downloadMBps: round(r.downloadMBps as number),
    peakRssMB,
    targetPeakRssMB: target,
    met: peakRssMB < target,
    verified: r.uploadedSha256 === r.expected && r.downloadedSha256 === r.expected && r.downloaded === r.size,
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizeMB = arg('--size-mb');
  const out = arg('--out');
  const dir = arg('--dir');
  const r = await benchStore({
    ...(sizeMB ? { sizeMB: Number(sizeMB) } : {}),
    ...(out ? { out } : {}),
    ...(dir ? { dir } : {}),
  });
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  if (!r.verified) process.exitCode = 1;
}
