// The local stack: a Temporal dev server (SQLite, UI on) and a SeaweedFS S3
// server, run as detached processes whose pids, ports and logs live in the
// state directory (see stack-home.ts for how it is found). Everything in it is
// private to the user (0700 folders, 0600 files).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import * as Minio from 'minio';
import { readVersions } from './versions.js';
import { stackHome } from './stack-home.js';

export { describeHome, resolveStackHome, stackHome, useStackHome, type ResolvedHome } from './stack-home.js';

export const HOST = '127.0.0.1';

export interface StackPorts {
  temporal: number;
  ui: number;
  s3: number;
}

/**
 * SeaweedFS's own ports. They must not change between starts: the master keeps its raft
 * state (and with it the cluster's topology id) in `<master.dir>/m<master port>`, so a new
 * master port is a master with no memory, and the volume server, which remembers the old
 * topology id, makes it freeze volume growth ("the master state was rebuilt").
 */
export interface InternalPorts {
  master: number;
  volume: number;
  filer: number;
  s3Grpc: number;
}

export const DEFAULT_PORTS: StackPorts = { temporal: 7233, ui: 8233, s3: 8333 };

export type ServiceName = 'temporal' | 's3';

export interface ServiceState {
  name: ServiceName;
  pid: number;
  address: string;
  log: string;
  /** Every port the service holds (public and internal), so `up` can check them. */
  ports: number[];
  /** How it was started, so `restartService` can start it again identically. */
  command: string[];
}

export interface StackState {
  home: string;
  ports: StackPorts;
  /** Absent in state files written before they were kept. */
  internalPorts?: InternalPorts;
  temporalAddress: string;
  uiUrl: string;
  s3Endpoint: string;
  bucket: string;
  services: ServiceState[];
}

export interface S3Credentials {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

const statePath = (home: string) => join(home, 'stack.json');
const credentialsPath = (home: string) => join(home, 's3.json');
const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

export function readStackState(home: string): StackState | undefined {
  const p = statePath(home);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as StackState;
}

function writeState(state: StackState): void {
  writeSecretFile(statePath(state.home), JSON.stringify(state, null, 2));
}

export class StackError extends Error {
  override name = 'StackError';
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves when the port is free; a port held by another program is an error, not a wait. */
async function assertPortFree(
  port: number,
  what: string,
  hint = `pick another with --${what}-port or stop that program`,
): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const server = createServer();
    server.once('error', () =>
      fail(new StackError(`port ${HOST}:${port} (${what}) is already in use by another program; ${hint}`)),
    );
    server.listen(port, HOST, () => server.close(() => ok()));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
  });
}

/** A free port p whose companion p+10000 (SeaweedFS's gRPC convention) is free too. */
async function freePortPair(taken: number[]): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    if (taken.includes(p) || taken.includes(p + 10000)) continue;
    try {
      await assertPortFree(p, 'internal');
      await assertPortFree(p + 10000, 'internal');
      return p;
    } catch {
      /* try another */
    }
  }
  throw new StackError('could not find free internal ports for SeaweedFS');
}

/**
 * The internal ports chosen once per state dir. A state file from before they were kept
 * gets the master port of the newest `m<port>` raft folder, so that master's state is reused.
 */
async function internalPortsFor(home: string, existing: StackState | undefined): Promise<InternalPorts> {
  if (existing?.internalPorts) return existing.internalPorts;
  const taken: number[] = [];
  const master = newestMasterPort(join(home, 's3', 'data')) ?? (await freePortPair(taken));
  taken.push(master);
  const volume = await freePortPair(taken);
  taken.push(volume);
  const filer = await freePortPair(taken);
  let s3Grpc = await freePort();
  while ([master, volume, filer].some((p) => s3Grpc === p || s3Grpc === p + 10000)) s3Grpc = await freePort();
  return { master, volume, filer, s3Grpc };
}

function newestMasterPort(dataDir: string): number | undefined {
  if (!existsSync(dataDir)) return undefined;
  const found = readdirSync(dataDir)
    .filter((n) => /^m\d+$/.test(n))
    .map((n) => ({ port: Number(n.slice(1)), mtime: statSync(join(dataDir, n)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  return found[0]?.port;
}

function toolPath(envVar: string, name: string, version: string, binary: string): string {
  const fromEnv = process.env[envVar];
  const path =
    fromEnv ?? join(process.env.BPOFLOW_TOOLS ?? join(homedir(), '.cache/bpoflow/tools'), `${name}-${version}`, binary);
  if (!existsSync(path)) {
    throw new StackError(
      `${binary} not found at ${path}; run \`bash infra/tools.sh\` to build it (needs Go), or set ${envVar}`,
    );
  }
  return path;
}

function loadOrCreateCredentials(home: string, endpoint: string, bucket: string): S3Credentials {
  const p = credentialsPath(home);
  if (existsSync(p)) {
    const creds = JSON.parse(readFileSync(p, 'utf8')) as S3Credentials;
    creds.endpoint = endpoint;
    writeSecretFile(p, JSON.stringify(creds, null, 2));
    return creds;
  }
  const creds: S3Credentials = {
    endpoint,
    accessKey: 'bpoflow-' + randomBytes(6).toString('hex'),
    secretKey: randomBytes(24).toString('base64url'),
    bucket,
    region: 'us-east-1',
  };
  writeSecretFile(p, JSON.stringify(creds, null, 2));
  return creds;
}

function writeSecretFile(path: string, content: string): void {
  writeFileSync(path, content, { mode: PRIVATE_FILE });
  chmodSync(path, PRIVATE_FILE);
}

function privateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: PRIVATE_DIR });
  chmodSync(path, PRIVATE_DIR);
}

/**
 * Makes everything already in the state dir private: folders 0700, files 0600 (state
 * dirs written by older versions, or files a service created with a lax mode). Symlinks
 * are left alone.
 */
function tightenModes(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if ((lstatSync(p).mode & 0o777) !== PRIVATE_DIR) chmodSync(p, PRIVATE_DIR);
      tightenModes(p);
    } else if (entry.isFile() && (lstatSync(p).mode & 0o077) !== 0) {
      chmodSync(p, lstatSync(p).mode & 0o700);
    }
  }
}

/** Starts a service in its own process group with umask 077, so whatever it writes is private. */
function startDetached([bin, ...args]: string[], log: string, cwd?: string): number {
  const fd = openSync(log, 'a', PRIVATE_FILE);
  const previous = process.umask(0o077);
  try {
    const child = spawn(bin!, args, { detached: true, stdio: ['ignore', fd, fd], cwd });
    child.unref();
    if (child.pid === undefined) throw new StackError(`could not start ${bin}; read ${log}`);
    return child.pid;
  } finally {
    process.umask(previous);
    closeSync(fd);
  }
}

async function waitUntil(
  what: string,
  log: string,
  pid: number,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new StackError(`${what} exited during start-up; read ${log}`);
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new StackError(`${what} did not answer within ${timeoutMs / 1000}s; read ${log}`);
}

export async function temporalHealthy(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    const res = await connection.withDeadline(Date.now() + 5000, () => connection.healthService.check({}));
    return res.status === 1; // SERVING
  } finally {
    await connection.close();
  }
}

export function s3Client(creds: S3Credentials): Minio.Client {
  const url = new URL(creds.endpoint);
  return new Minio.Client({
    endPoint: url.hostname,
    port: Number(url.port),
    useSSL: url.protocol === 'https:',
    accessKey: creds.accessKey,
    secretKey: creds.secretKey,
    region: creds.region,
  });
}

/** Rejects with `what did not finish within …` when `work` outlives its deadline. */
async function withDeadline<T>(what: string, ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Where the write probe puts its object: `tmp/` is the store's own prefix, hidden from listings. */
export const PROBE_PREFIX = 'tmp/health/';

export interface S3Probe {
  healthy: boolean;
  /** Why not, when unhealthy. */
  detail?: string;
}

/**
 * A real round trip through the storage: writes a small object into the bucket, reads it
 * back, deletes it, each under a deadline. ListBuckets alone answers from the filer even
 * when every write hangs (e.g. SeaweedFS with volume growth frozen).
 */
export async function s3Probe(creds: S3Credentials, timeoutMs = 5000): Promise<S3Probe> {
  const client = s3Client(creds);
  const key = `${PROBE_PREFIX}${Date.now()}-${randomBytes(4).toString('hex')}`;
  const body = Buffer.from(`bpoflow health probe ${key}\n`);
  const uri = `s3://${creds.bucket}/${key}`;
  try {
    await withDeadline(`write probe (put ${uri})`, timeoutMs, client.putObject(creds.bucket, key, body, body.length));
    const read = await withDeadline(`read probe (get ${uri})`, timeoutMs, readAll(client.getObject(creds.bucket, key)));
    if (!read.equals(body))
      return { healthy: false, detail: `read probe: ${uri} came back different from what was written` };
    await withDeadline(`delete probe (remove ${uri})`, timeoutMs, client.removeObject(creds.bucket, key));
    return { healthy: true };
  } catch (err) {
    return { healthy: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

async function readAll(stream: Promise<NodeJS.ReadableStream>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The S3 API answers (ListBuckets); says nothing about whether writes work. */
export async function s3Answers(creds: S3Credentials): Promise<boolean> {
  await withDeadline('list buckets', 5000, s3Client(creds).listBuckets());
  return true;
}

export interface UpOptions {
  home?: string;
  ports?: Partial<StackPorts>;
  bucket?: string;
  log?: (line: string) => void;
}

export interface UpResult {
  state: StackState;
  alreadyRunning: boolean;
  /** Services this call started. */
  started: ServiceName[];
  /** Services that were already running and healthy, left untouched. */
  kept: ServiceName[];
}

/** The public ports: the stored ones, unless the caller names others. */
function choosePorts(existing: StackState | undefined, requested: Partial<StackPorts> = {}): StackPorts {
  const defined = Object.fromEntries(
    Object.entries(requested).filter(([, v]) => v !== undefined),
  ) as Partial<StackPorts>;
  return { ...DEFAULT_PORTS, ...existing?.ports, ...defined };
}

function servicePublicPort(name: ServiceName, ports: StackPorts): number[] {
  return name === 'temporal' ? [ports.temporal, ports.ui] : [ports.s3];
}

/**
 * Starts what is not running. A healthy service is never stopped: on a half-dead stack
 * only the dead service is started again, on the ports the state file recorded, and a
 * port another program took is an error that leaves the rest running.
 */
export async function up(opts: UpOptions = {}): Promise<UpResult> {
  const home = resolve(opts.home ?? stackHome());
  const log = opts.log ?? (() => {});
  privateDir(home);
  const existing = readStackState(home);
  const ports = choosePorts(existing, opts.ports);
  const bucket = opts.bucket ?? existing?.bucket ?? 'bpoflow';
  const alive = new Map((existing?.services ?? []).filter((s) => isAlive(s.pid)).map((s) => [s.name, s]));

  for (const s of alive.values()) {
    const wanted = servicePublicPort(s.name, ports);
    const had = servicePublicPort(s.name, existing!.ports);
    if (wanted.some((p, i) => p !== had[i])) {
      throw new StackError(
        `${s.name} is running on ${s.address} (pid ${s.pid}); run \`bpoflow down\` first to move it to other ports`,
      );
    }
  }
  if (existing && alive.size > 0 && bucket !== existing.bucket) {
    throw new StackError(
      `the stack is running with bucket ${existing.bucket}; run \`bpoflow down\` first to change it`,
    );
  }

  for (const dir of ['logs', 'temporal', 's3', 's3/data', 's3/config']) privateDir(join(home, dir));
  tightenModes(home);
  const internalPorts = await internalPortsFor(home, existing);
  const s3Endpoint = `http://${HOST}:${ports.s3}`;
  const state: StackState = {
    home,
    ports,
    internalPorts,
    temporalAddress: `${HOST}:${ports.temporal}`,
    uiUrl: `http://${HOST}:${ports.ui}`,
    s3Endpoint,
    bucket,
    services: [...alive.values()],
  };
  const creds = alive.has('s3') ? readCredentials(home)! : loadOrCreateCredentials(home, s3Endpoint, bucket);

  // A running service must answer before anything is decided: it may still be starting.
  const kept: ServiceName[] = [];
  for (const s of alive.values()) {
    const probe = s.name === 'temporal' ? () => temporalHealthy(s.address) : async () => (await s3Probe(creds)).healthy;
    try {
      await waitUntil(s.name, s.log, s.pid, probe, 30_000);
    } catch {
      throw new StackError(
        `${s.name} (pid ${s.pid}) is running but does not answer on ${s.address}; read ${s.log}, or run \`bpoflow down\` and \`bpoflow up\``,
      );
    }
    kept.push(s.name);
  }
  const toStart = (['temporal', 's3'] as const).filter((n) => !alive.has(n));
  if (toStart.length === 0) return { state, alreadyRunning: true, started: [], kept };

  // Every port of every service to start is checked before any starts.
  if (toStart.includes('temporal')) {
    await assertPortFree(ports.temporal, 'temporal');
    await assertPortFree(ports.ui, 'ui');
  }
  if (toStart.includes('s3')) {
    await assertPortFree(ports.s3, 's3');
    const hint = `SeaweedFS keeps its master state under that port (${join(home, 's3', 'data', `m${internalPorts.master}`)}); stop that program and run \`bpoflow up\` again`;
    for (const [what, p] of [
      ['SeaweedFS master', internalPorts.master],
      ['SeaweedFS volume', internalPorts.volume],
      ['SeaweedFS filer', internalPorts.filer],
    ] as const) {
      await assertPortFree(p, what, hint);
      await assertPortFree(p + 10000, `${what} gRPC`, hint);
    }
    await assertPortFree(internalPorts.s3Grpc, 'S3 gRPC', hint);
  }

  const versions = readVersions();
  const temporalBin = toStart.includes('temporal')
    ? toolPath('BPOFLOW_TEMPORAL_BIN', 'temporal', versions.TEMPORAL_CLI_VERSION, 'temporal')
    : '';
  const weedBin = toStart.includes('s3')
    ? toolPath('BPOFLOW_WEED_BIN', 'weed', versions.SEAWEEDFS_VERSION, 'weed')
    : '';
  const started: ServiceState[] = [];
  try {
    if (toStart.includes('temporal')) {
      log(`starting Temporal dev server on ${state.temporalAddress} (UI ${state.uiUrl})`);
      const service = startTemporal(home, temporalBin, ports);
      started.push(service);
      state.services.push(service);
    }
    if (toStart.includes('s3')) {
      log(`starting SeaweedFS S3 on ${s3Endpoint}`);
      const service = startSeaweed(home, weedBin, ports, internalPorts, creds);
      started.push(service);
      state.services.push(service);
    }
    writeState(state);
    const t0 = Date.now();
    const since = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
    await Promise.all(
      started.map(async (s) => {
        if (s.name === 'temporal') {
          await waitUntil('Temporal dev server', s.log, s.pid, () => temporalHealthy(state.temporalAddress), 90_000);
          log(`Temporal answers (${since()})`);
        } else {
          await waitUntil('SeaweedFS S3', s.log, s.pid, () => s3Answers(creds), 90_000);
          await ensureBucket(creds, s.log);
          log(`S3 answers (${since()})`);
          await waitUntilWritable(creds, s.log, s.pid);
          log(`S3 stores and reads back an object (${since()})`);
        }
      }),
    );
    tightenModes(home);
    return { state, alreadyRunning: false, started: started.map((s) => s.name), kept };
  } catch (err) {
    // Stop only what this call started; a service that was already running stays.
    await stopServices(started);
    state.services = state.services.filter((s) => !started.includes(s));
    writeState(state);
    throw err;
  }
}

function startTemporal(home: string, bin: string, ports: StackPorts): ServiceState {
  const log = join(home, 'logs', 'temporal.log');
  const command = [
    bin,
    'server',
    'start-dev',
    '--ip',
    HOST,
    '--ui-ip',
    HOST,
    '--port',
    String(ports.temporal),
    '--ui-port',
    String(ports.ui),
    '--db-filename',
    join(home, 'temporal', 'temporal.db'),
    '--namespace',
    'default',
    '--search-attribute',
    'BpoflowPipeline=Keyword',
    '--search-attribute',
    'BpoflowSpecHash=Keyword',
    // WAL with normal sync: durable across process crashes, without an fsync per history write.
    '--sqlite-pragma',
    'journal_mode=wal',
    '--sqlite-pragma',
    'synchronous=normal',
    '--log-level',
    'warn',
  ];
  const pid = startDetached(command, log);
  return {
    name: 'temporal',
    pid,
    address: `${HOST}:${ports.temporal}`,
    log,
    ports: [ports.temporal, ports.ui],
    command,
  };
}

/**
 * SeaweedFS's master settings for a one-node stack. If its raft state is ever lost anyway
 * (the folder deleted), the volume server's memory of the old cluster freezes volume
 * growth for good by default; here the only volume server is the one started alongside,
 * so growth may resume on its own once that wait has passed.
 */
function masterToml(): string {
  const wait = process.env.BPOFLOW_S3_STATE_LOSS_RECOVERY_WAIT ?? '60s';
  if (!/^\d+(ms|s|m)$/.test(wait))
    throw new StackError(`BPOFLOW_S3_STATE_LOSS_RECOVERY_WAIT: expected a duration such as 30s, got "${wait}"`);
  return [
    '# Written by `bpoflow up`; rewritten on every start.',
    '[master.volume_growth]',
    `state_loss_recovery_wait = "${wait}"`,
    '',
  ].join('\n');
}

function startSeaweed(
  home: string,
  bin: string,
  ports: StackPorts,
  internal: InternalPorts,
  creds: S3Credentials,
): ServiceState {
  const log = join(home, 'logs', 's3.log');
  const configDir = join(home, 's3', 'config');
  writeSecretFile(join(configDir, 'master.toml'), masterToml());
  const identities = join(home, 's3', 'identities.json');
  writeSecretFile(
    identities,
    JSON.stringify({
      identities: [
        {
          name: 'bpoflow',
          credentials: [{ accessKey: creds.accessKey, secretKey: creds.secretKey }],
          actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'],
        },
      ],
    }),
  );
  const data = join(home, 's3', 'data');
  const command = [
    bin,
    `-config_dir=${configDir}`,
    'server',
    `-ip=${HOST}`,
    `-ip.bind=${HOST}`,
    `-dir=${data}`,
    // The master's raft state lives in <master.dir>/m<master.port>: both fixed for this home.
    `-master.dir=${data}`,
    `-master.port=${internal.master}`,
    '-master.resumeState=true',
    // One master: it resumes as leader at once instead of waiting out a 10 s election timeout.
    '-master.peers=none',
    `-volume.port=${internal.volume}`,
    '-filer',
    `-filer.port=${internal.filer}`,
    '-s3',
    `-s3.port=${ports.s3}`,
    `-s3.port.grpc=${internal.s3Grpc}`,
    `-s3.config=${identities}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
    '-volume.max=0',
    '-master.volumeSizeLimitMB=1024',
  ];
  // cwd = the config folder: SeaweedFS also reads ./master.toml etc., never the caller's.
  const pid = startDetached(command, log, configDir);
  const all = [internal.master, internal.volume, internal.filer].flatMap((p) => [p, p + 10000]);
  return {
    name: 's3',
    pid,
    address: `http://${HOST}:${ports.s3}`,
    log,
    ports: [ports.s3, ...all, internal.s3Grpc],
    command,
  };
}

/** SeaweedFS answers ListBuckets before its volume layer can take writes, so the bucket is retried. */
async function ensureBucket(creds: S3Credentials, s3Log: string): Promise<void> {
  const client = s3Client(creds);
  let lastError: unknown;
  for (let i = 0; i < 120; i++) {
    try {
      if (!(await withDeadline('bucket check', 5000, client.bucketExists(creds.bucket)))) {
        await withDeadline(`create bucket ${creds.bucket}`, 10_000, client.makeBucket(creds.bucket, creds.region));
      }
      return;
    } catch (err) {
      lastError = err;
      await sleep(500);
    }
  }
  throw new StackError(`could not create bucket ${creds.bucket}: ${String(lastError)}; read ${s3Log}`);
}

/** `up` is done when a write and a read go through, not when the API merely answers. */
async function waitUntilWritable(creds: S3Credentials, s3Log: string, pid: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: S3Probe = { healthy: false };
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new StackError(`SeaweedFS S3 exited during start-up; read ${s3Log}`);
    last = await s3Probe(creds, 10_000);
    if (last.healthy) return;
    await sleep(500);
  }
  throw new StackError(
    `SeaweedFS S3 answers but cannot store an object (${last.detail}); read ${s3Log}${frozenHint(s3Log)}`,
  );
}

/** Names SeaweedFS's frozen volume growth when its log shows it. */
function frozenHint(s3Log: string): string {
  try {
    return /volume growth (is )?frozen/.test(readFileSync(s3Log, 'utf8').slice(-200_000))
      ? ' (it reports volume growth frozen after a master state loss; it resumes on its own after state_loss_recovery_wait)'
      : '';
  } catch {
    return '';
  }
}

async function waitForExit(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal); // the process group: the service and anything it forked
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

async function stopServices(services: ServiceState[]): Promise<void> {
  const pids = services.map((s) => s.pid);
  for (const pid of pids.filter(isAlive)) signalGroup(pid, 'SIGTERM');
  // SeaweedFS drains its gRPC servers for ~12 s on SIGTERM, longer on a loaded machine.
  await waitForExit(pids, 45_000);
  for (const pid of pids.filter(isAlive)) signalGroup(pid, 'SIGKILL');
  await waitForExit(pids, 5_000);
}

/**
 * Stops one service (SIGKILL simulates a crash) and starts it again with the same
 * command, ports and data, then waits until it answers. For fault tests.
 */
export async function restartService(
  home: string,
  name: ServiceName,
  opts: { signal?: NodeJS.Signals; downMs?: number } = {},
): Promise<ServiceState> {
  const state = readStackState(home);
  const service = state?.services.find((s) => s.name === name);
  if (!state || !service) throw new StackError(`no running ${name} in ${home}`);
  signalGroup(service.pid, opts.signal ?? 'SIGKILL');
  await waitForExit([service.pid], 30_000);
  if (opts.downMs) await sleep(opts.downMs);
  const cwd = name === 's3' ? join(home, 's3', 'config') : undefined;
  const pid = startDetached(service.command, service.log, cwd);
  const restarted = { ...service, pid };
  state.services = state.services.map((s) => (s.name === name ? restarted : s));
  writeState(state);
  const creds = readCredentials(home)!;
  const probe = name === 'temporal' ? () => temporalHealthy(state.temporalAddress) : () => s3Answers(creds);
  await waitUntil(name, service.log, pid, probe, 90_000);
  return restarted;
}

/** Stops the stack, keeping its data and its ports (the next `up` uses them again). */
export async function down(opts: { home?: string } = {}): Promise<ServiceState[]> {
  const home = opts.home ?? stackHome();
  const state = readStackState(home);
  if (!state) return [];
  await stopServices(state.services);
  writeState({ ...state, services: [] });
  return state.services;
}

export interface ServiceHealth {
  name: string;
  pid: number;
  address: string;
  running: boolean;
  healthy: boolean;
  /** Why it is unhealthy, when known (e.g. the S3 write probe timed out). */
  detail?: string;
  log: string;
}

export async function status(opts: { home?: string; probeTimeoutMs?: number } = {}): Promise<ServiceHealth[]> {
  const home = opts.home ?? stackHome();
  const state = readStackState(home);
  const byName = new Map(state?.services.map((s) => [s.name, s]) ?? []);
  const creds = readCredentials(home);
  const check = async (name: ServiceName, s: ServiceState): Promise<S3Probe> => {
    if (name === 'temporal') {
      return temporalHealthy(s.address).then(
        (healthy) => ({ healthy, detail: healthy ? undefined : 'not SERVING' }),
        (err: Error) => ({ healthy: false, detail: err.message }),
      );
    }
    return creds
      ? s3Probe(creds, opts.probeTimeoutMs)
      : { healthy: false, detail: `no credentials in ${credentialsPath(home)}` };
  };
  return Promise.all(
    (['temporal', 's3'] as const).map(async (name): Promise<ServiceHealth> => {
      const s = byName.get(name);
      const running = s !== undefined && isAlive(s.pid);
      const probe = s && running ? await check(name, s) : { healthy: false };
      return {
        name,
        pid: s?.pid ?? 0,
        address: s?.address ?? '-',
        running,
        healthy: probe.healthy,
        ...(probe.detail ? { detail: probe.detail } : {}),
        log: s?.log ?? '-',
      };
    }),
  );
}

export function readCredentials(home: string): S3Credentials | undefined {
  const p = credentialsPath(home);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as S3Credentials) : undefined;
}

export interface PrivateStack {
  state: StackState;
  /** TEMPORAL_* and BPOFLOW_S3_* variables pointing at this stack. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * A throwaway stack on free ports in `home`, for tests and benchmarks. A home that already
 * holds one (a benchmark's kept step cache) starts again on its stored ports.
 */
export async function startPrivateStack(home: string, log?: (line: string) => void): Promise<PrivateStack> {
  const ports = existsSync(statePath(home))
    ? undefined
    : { temporal: await freePort(), ui: await freePort(), s3: await freePort() };
  const { state } = await up({ home, ...(ports ? { ports } : {}), log });
  const creds = readCredentials(home)!;
  const env = {
    BPOFLOW_HOME: home,
    TEMPORAL_ADDRESS: state.temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    BPOFLOW_UI_URL: state.uiUrl,
    BPOFLOW_S3_ENDPOINT: creds.endpoint,
    BPOFLOW_S3_ACCESS_KEY: creds.accessKey,
    BPOFLOW_S3_SECRET_KEY: creds.secretKey,
    BPOFLOW_S3_BUCKET: creds.bucket,
    BPOFLOW_S3_REGION: creds.region,
  };
  return { state, env, stop: async () => void (await down({ home })) };
}
