// The local stack: a Temporal dev server (SQLite, UI on) and a SeaweedFS S3
// server, run as detached processes whose pids, ports and logs live in the
// state directory ($BPOFLOW_HOME, default ./.bpoflow).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync, chmodSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import * as Minio from 'minio';
import { readVersions } from './versions.js';

export const HOST = '127.0.0.1';

export interface StackPorts {
  temporal: number;
  ui: number;
  s3: number;
}

export const DEFAULT_PORTS: StackPorts = { temporal: 7233, ui: 8233, s3: 8333 };

export interface ServiceState {
  name: 'temporal' | 's3';
  pid: number;
  address: string;
  log: string;
  /** Internal ports a service holds besides its public one (so `up` can check them). */
  ports: number[];
  /** How it was started, so `restartService` can start it again identically. */
  command: string[];
}

export interface StackState {
  home: string;
  ports: StackPorts;
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

export function stackHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.BPOFLOW_HOME ?? join(process.cwd(), '.bpoflow'));
}

const statePath = (home: string) => join(home, 'stack.json');
const credentialsPath = (home: string) => join(home, 's3.json');

export function readStackState(home: string): StackState | undefined {
  const p = statePath(home);
  if (!existsSync(p)) return undefined;
  return JSON.parse(readFileSync(p, 'utf8')) as StackState;
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
async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const server = createServer();
    server.once('error', () =>
      fail(new StackError(`port ${HOST}:${port} (${what}) is already in use by another program; pick another with --${what}-port or stop that program`)),
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
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
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

function toolPath(envVar: string, name: string, version: string, binary: string): string {
  const fromEnv = process.env[envVar];
  const path = fromEnv ?? join(process.env.BPOFLOW_TOOLS ?? join(homedir(), '.cache/bpoflow/tools'), `${name}-${version}`, binary);
  if (!existsSync(path)) {
    throw new StackError(`${binary} not found at ${path}; run \`bash infra/tools.sh\` to build it (needs Go), or set ${envVar}`);
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
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

function startDetached([bin, ...args]: string[], log: string): number {
  const fd = openSync(log, 'a');
  const child = spawn(bin!, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new StackError(`could not start ${bin}; read ${log}`);
  return child.pid;
}

async function waitUntil(what: string, log: string, pid: number, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
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
    const res = await connection.healthService.check({});
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

export async function s3Healthy(creds: S3Credentials): Promise<boolean> {
  await s3Client(creds).listBuckets();
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
}

export async function up(opts: UpOptions = {}): Promise<UpResult> {
  const home = opts.home ?? stackHome();
  const log = opts.log ?? (() => {});
  const existing = readStackState(home);
  if (existing && existing.services.length > 0 && existing.services.every((s) => isAlive(s.pid))) {
    return { state: existing, alreadyRunning: true };
  }
  if (existing?.services.length) await down({ home }); // a half-dead stack from a crash: clear it first

  const ports: StackPorts = { ...DEFAULT_PORTS, ...opts.ports };
  const bucket = opts.bucket ?? 'bpoflow';
  await assertPortFree(ports.temporal, 'temporal');
  await assertPortFree(ports.ui, 'ui');
  await assertPortFree(ports.s3, 's3');

  const versions = readVersions();
  const temporalBin = toolPath('BPOFLOW_TEMPORAL_BIN', 'temporal', versions.TEMPORAL_CLI_VERSION, 'temporal');
  const weedBin = toolPath('BPOFLOW_WEED_BIN', 'weed', versions.SEAWEEDFS_VERSION, 'weed');

  for (const dir of ['logs', 'temporal', 's3/data']) mkdirSync(join(home, dir), { recursive: true });
  const s3Endpoint = `http://${HOST}:${ports.s3}`;
  const creds = loadOrCreateCredentials(home, s3Endpoint, bucket);
  const identities = join(home, 's3', 'identities.json');
  writeSecretFile(
    identities,
    JSON.stringify({
      identities: [{ name: 'bpoflow', credentials: [{ accessKey: creds.accessKey, secretKey: creds.secretKey }], actions: ['Admin', 'Read', 'Write', 'List', 'Tagging'] }],
    }),
  );

  const services: ServiceState[] = [];
  const state: StackState = {
    home,
    ports,
    temporalAddress: `${HOST}:${ports.temporal}`,
    uiUrl: `http://${HOST}:${ports.ui}`,
    s3Endpoint,
    bucket,
    services,
  };
  try {
    const temporalLog = join(home, 'logs', 'temporal.log');
    log(`starting Temporal dev server on ${state.temporalAddress} (UI ${state.uiUrl})`);
    const temporalCommand = [
      temporalBin,
      'server', 'start-dev',
      '--ip', HOST, '--ui-ip', HOST,
      '--port', String(ports.temporal), '--ui-port', String(ports.ui),
      '--db-filename', join(home, 'temporal', 'temporal.db'),
      '--namespace', 'default',
      '--search-attribute', 'BpoflowPipeline=Keyword',
      '--search-attribute', 'BpoflowSpecHash=Keyword',
      // WAL with normal sync: durable across process crashes, without an fsync per history write.
      '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal',
      '--log-level', 'warn',
    ];
    const temporalPid = startDetached(temporalCommand, temporalLog);
    services.push({ name: 'temporal', pid: temporalPid, address: state.temporalAddress, log: temporalLog, ports: [ports.temporal, ports.ui], command: temporalCommand });

    const s3Log = join(home, 'logs', 's3.log');
    const [master, volume, filer] = [await freePortPair(), await freePortPair(), await freePortPair()];
    const s3Grpc = await freePort();
    log(`starting SeaweedFS S3 on ${s3Endpoint}`);
    const s3Command = [
      weedBin,
      'server',
      `-ip=${HOST}`, `-ip.bind=${HOST}`,
      `-dir=${join(home, 's3', 'data')}`,
      `-master.port=${master}`, `-volume.port=${volume}`,
      '-filer', `-filer.port=${filer}`,
      '-s3', `-s3.port=${ports.s3}`, `-s3.port.grpc=${s3Grpc}`, `-s3.config=${identities}`,
      '-s3.port.iceberg=0', '-s3.port.lance=0',
      '-volume.max=0', '-master.volumeSizeLimitMB=1024',
    ];
    const s3Pid = startDetached(s3Command, s3Log);
    services.push({ name: 's3', pid: s3Pid, address: s3Endpoint, log: s3Log, ports: [ports.s3, master, volume, filer, s3Grpc], command: s3Command });
    writeFileSync(statePath(home), JSON.stringify(state, null, 2));

    await waitUntil('Temporal dev server', temporalLog, temporalPid, () => temporalHealthy(state.temporalAddress), 90_000);
    await waitUntil('SeaweedFS S3', s3Log, s3Pid, () => s3Healthy(creds), 90_000);
    await ensureBucket(creds, s3Log);
    return { state, alreadyRunning: false };
  } catch (err) {
    await down({ home });
    throw err;
  }
}

/** SeaweedFS answers ListBuckets before its volume layer can take writes, so the bucket is retried. */
async function ensureBucket(creds: S3Credentials, s3Log: string): Promise<void> {
  const client = s3Client(creds);
  let lastError: unknown;
  for (let i = 0; i < 120; i++) {
    try {
      if (!(await client.bucketExists(creds.bucket))) await client.makeBucket(creds.bucket, creds.region);
      return;
    } catch (err) {
      lastError = err;
      await sleep(500);
    }
  }
  throw new StackError(`could not create bucket ${creds.bucket}: ${String(lastError)}; read ${s3Log}`);
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

/**
 * Stops one service (SIGKILL simulates a crash) and starts it again with the same
 * command, ports and data, then waits until it answers. For fault tests.
 */
export async function restartService(home: string, name: 'temporal' | 's3', opts: { signal?: NodeJS.Signals; downMs?: number } = {}): Promise<ServiceState> {
  const state = readStackState(home);
  const service = state?.services.find((s) => s.name === name);
  if (!state || !service) throw new StackError(`no running ${name} in ${home}`);
  signalGroup(service.pid, opts.signal ?? 'SIGKILL');
  await waitForExit([service.pid], 30_000);
  if (opts.downMs) await sleep(opts.downMs);
  const pid = startDetached(service.command, service.log);
  const restarted = { ...service, pid };
  state.services = state.services.map((s) => (s.name === name ? restarted : s));
  writeFileSync(statePath(home), JSON.stringify(state, null, 2));
  const creds = readCredentials(home)!;
  const probe = name === 'temporal' ? () => temporalHealthy(state.temporalAddress) : () => s3Healthy(creds);
  await waitUntil(name, service.log, pid, probe, 90_000);
  return restarted;
}

export async function down(opts: { home?: string } = {}): Promise<ServiceState[]> {
  const home = opts.home ?? stackHome();
  const state = readStackState(home);
  if (!state) return [];
  const pids = state.services.map((s) => s.pid);
  for (const pid of pids.filter(isAlive)) signalGroup(pid, 'SIGTERM');
  // SeaweedFS drains its gRPC servers for ~12 s on SIGTERM, longer on a loaded machine.
  await waitForExit(pids, 45_000);
  for (const pid of pids.filter(isAlive)) signalGroup(pid, 'SIGKILL');
  writeFileSync(statePath(home), JSON.stringify({ ...state, services: [] }, null, 2));
  return state.services;
}

export interface ServiceHealth {
  name: string;
  pid: number;
  address: string;
  running: boolean;
  healthy: boolean;
  log: string;
}

export async function status(opts: { home?: string } = {}): Promise<ServiceHealth[]> {
  const home = opts.home ?? stackHome();
  const state = readStackState(home);
  const byName = new Map(state?.services.map((s) => [s.name, s]) ?? []);
  const creds = existsSync(credentialsPath(home)) ? (JSON.parse(readFileSync(credentialsPath(home), 'utf8')) as S3Credentials) : undefined;
  const result: ServiceHealth[] = [];
  for (const name of ['temporal', 's3'] as const) {
    const s = byName.get(name);
    const running = s !== undefined && isAlive(s.pid);
    let healthy = false;
    if (s && running) {
      healthy = await (name === 'temporal' ? temporalHealthy(s.address) : creds ? s3Healthy(creds) : Promise.resolve(false)).catch(() => false);
    }
    result.push({ name, pid: s?.pid ?? 0, address: s?.address ?? '-', running, healthy, log: s?.log ?? '-' });
  }
  return result;
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

/** A throwaway stack on free ports in `home`, for tests and benchmarks. */
export async function startPrivateStack(home: string, log?: (line: string) => void): Promise<PrivateStack> {
  const { state } = await up({ home, ports: { temporal: await freePort(), ui: await freePort(), s3: await freePort() }, log });
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
