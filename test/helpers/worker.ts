// Real `bpoflow` processes against the test stack (the env set by test/run.ts).
import { spawn } from 'node:child_process';
import { bpoflowBin, spawnWorker, type WorkerProcess } from '../../infra/worker-process.js';

export type WorkerHandle = WorkerProcess;

export function requireStackEnv(): void {
  for (const v of ['TEMPORAL_ADDRESS', 'BPOFLOW_S3_ENDPOINT']) {
    if (!process.env[v]) throw new Error(`${v} is not set: run the integration tests through \`npm test\` (test/run.ts starts the stack)`);
  }
}

export async function startWorker(args: string[] = ['--queues', 'cpu,gpu'], env: NodeJS.ProcessEnv = {}): Promise<WorkerHandle> {
  requireStackEnv();
  return spawnWorker(args, { ...process.env, ...env });
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
