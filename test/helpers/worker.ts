// Starts a real `bpoflow worker` process against the test stack (the env set by
// test/run.ts) and waits until it serves its queues.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../spec/package-root.js';

export interface WorkerHandle {
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function requireStackEnv(): void {
  for (const v of ['TEMPORAL_ADDRESS', 'BPOFLOW_S3_ENDPOINT']) {
    if (!process.env[v]) throw new Error(`${v} is not set: run the integration tests through \`npm test\` (test/run.ts starts the stack)`);
  }
}

export const bpoflowBin = () => join(packageRoot(), 'bin', 'bpoflow.js');

export async function startWorker(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<WorkerHandle> {
  requireStackEnv();
  const proc = spawn(process.execPath, [bpoflowBin(), 'worker', '--queues', 'cpu,gpu', ...args], {
    env: { ...process.env, BPOFLOW_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in 60 s:\n${out}`)), 60_000);
    const check = () => {
      if (out.includes('"worker ready"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stderr!.on('data', check);
    proc.on('exit', (c) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${c}) during start-up:\n${out}`));
    });
  });
  return {
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (c) => resolve(c));
        proc.kill(signal);
      }),
  };
}

/** Runs the CLI and returns its exit code and output. */
export async function bpoflow(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [bpoflowBin(), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}
