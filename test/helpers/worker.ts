// Real `bpoflow` processes against the test stack (the env set by test/run.ts).
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bpoflowBin, spawnWorker, type WorkerProcess } from '../../infra/worker-process.js';

export type WorkerHandle = WorkerProcess;

export function requireStackEnv(): void {
  for (const v of ['TEMPORAL_ADDRESS', 'BPOFLOW_S3_ENDPOINT']) {
    if (!process.env[v])
      throw new Error(`${v} is not set: run the integration tests through \`npm test\` (test/run.ts starts the stack)`);
  }
}

export async function startWorker(
  args: string[] = ['--queues', 'cpu,gpu'],
  env: NodeJS.ProcessEnv = {},
): Promise<WorkerHandle> {
  requireStackEnv();
  return spawnWorker(args, { ...process.env, ...env });
}

/** Runs the CLI and returns its exit code and output. */
export async function bpoflow(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = spawn(process.execPath, [bpoflowBin(), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? 1)));
  return { code, stdout, stderr };
}

/**
 * Runs the CLI with its modules loaded before the clock starts (helpers/warm-cli.ts), so
 * `ms` is how long the command took to answer, not how long Node took to load it.
 */
export async function timedBpoflow(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; ms: number; totalMs: number }> {
  const warm = fileURLToPath(new URL('./warm-cli.js', import.meta.url));
  const spawned = Date.now();
  const proc = spawn(process.execPath, ['--import', warm, bpoflowBin(), ...args], {
    env: process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let go = 0;
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (!go && stderr.includes('warm\n')) {
      go = Date.now();
      proc.stdin.end('go\n');
    }
  });
  const code = await new Promise<number>((resolve) => proc.on('exit', (c) => resolve(c ?? 1)));
  const end = Date.now();
  return { code, stdout, stderr: stderr.replace('warm\n', ''), ms: end - (go || spawned), totalMs: end - spawned };
}
