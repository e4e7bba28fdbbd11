// Starts a real `bpoflow worker` process (tests, benchmarks, quickstart-like
// scripts) and waits until it serves its queues.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface WorkerProcess {
  proc: ChildProcess;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

// This file runs as dist/infra/worker-process.js, two levels below bin/.
export const bpoflowBin = () => fileURLToPath(new URL('../../bin/bpoflow.js', import.meta.url));

export async function spawnWorker(args: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, [bpoflowBin(), 'worker', ...args], {
    env: { ...env, BPOFLOW_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in 60 s:\n${out}`)), 60_000);
    const onExit = (c: number | null) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${c}) during start-up:\n${out}`));
    };
    proc.on('exit', onExit);
    proc.stderr!.on('data', () => {
      if (out.includes('"worker ready"')) {
        clearTimeout(timer);
        proc.off('exit', onExit);
        resolve();
      }
    });
  });
  return {
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (c) => resolve(c));
        proc.kill(signal);
      }),
  };
}
