// The PyTorch process the ml benchmark interleaves with (bench/torch_gpt2.py).
//
// Which Python: $BPOFLOW_TORCH_PYTHON, else the venv that bench/torch-env.sh
// creates at ~/.cache/bpoflow/py (the HF parity tests use the same one).
// Without either, the benchmark runs tfjs alone and says why.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { packageRoot } from '../spec/package-root.js';

export interface TorchSetup {
  n_layer: number;
  n_head: number;
  n_embd: number;
  n_positions: number;
  vocab: number;
  mode: 'sft' | 'dpo';
  batch: number;
  seq: number;
  threads: number;
}

export interface TorchRun {
  steps: number;
  wall: number;
  cpu: number;
}

export function torchPython(): { python: string | null; why: string } {
  const env = process.env.BPOFLOW_TORCH_PYTHON;
  if (env) return { python: env, why: 'BPOFLOW_TORCH_PYTHON' };
  const venv = path.join(os.homedir(), '.cache/bpoflow/py/bin/python');
  if (existsSync(venv)) return { python: venv, why: venv };
  return {
    python: null,
    why: 'no PyTorch: set BPOFLOW_TORCH_PYTHON or run `bash bench/torch-env.sh` (creates ~/.cache/bpoflow/py, about 5 GB)',
  };
}

export class TorchPeer {
  private readonly waiting: ((line: string) => void)[] = [];
  private stderr = '';
  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    readonly version: string,
  ) {}

  /** Starts the peer; resolves null (with the reason logged) when Python or torch is missing. */
  static async start(log: (s: string) => void, timeoutMs = 180_000): Promise<TorchPeer | null> {
    const { python, why } = torchPython();
    if (!python) {
      log(why);
      return null;
    }
    // Passive OpenMP waits: on a shared, oversubscribed host, spinning worker
    // threads make torch's 2-thread steps several times slower than 1 thread.
    const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
    const child = spawn(python, [path.join(packageRoot(), 'bench', 'torch_gpt2.py')], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
    });
    const lines = createInterface({ input: child.stdout });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const first = await new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      child.once('error', () => resolve(null));
      child.once('exit', () => resolve(null));
      lines.once('line', (l) => {
        clearTimeout(timer);
        resolve(l);
      });
    });
    if (!first) {
      child.kill();
      log(`no PyTorch from ${python} (${why}): ${stderr.trim().split('\n').pop() ?? 'no answer'}`);
      return null;
    }
    const peer = new TorchPeer(child, (JSON.parse(first) as { torch: string }).torch);
    child.stderr.removeAllListeners('data');
    child.stderr.on('data', (d: Buffer) => (peer.stderr = (peer.stderr + d.toString()).slice(-4000)));
    child.once('exit', () => {
      for (const w of peer.waiting.splice(0))
        w(JSON.stringify({ error: `torch process exited: ${peer.stderr.trim().split('\n').pop() ?? ''}` }));
    });
    lines.on('line', (l) => peer.waiting.shift()?.(l));
    log(`PyTorch ${peer.version} from ${python}`);
    return peer;
  }

  private async ask<T>(msg: object): Promise<T> {
    const reply = await new Promise<string>((resolve) => {
      this.waiting.push(resolve);
      this.child.stdin.write(JSON.stringify(msg) + '\n');
    });
    const r = JSON.parse(reply) as T & { error?: string };
    if (r.error) throw new Error(`torch: ${r.error}`);
    return r;
  }

  /** Builds the model and runs one warm-up step; returns the parameter count. */
  async setup(cfg: TorchSetup): Promise<number> {
    return (await this.ask<{ params: number }>({ op: 'setup', ...cfg })).params;
  }

  run(seconds: number): Promise<TorchRun> {
    return this.ask<TorchRun>({ op: 'run', seconds });
  }

  /** Peak RSS of the torch process since the last setup. */
  async peakRss(): Promise<number> {
    return (await this.ask<{ peak_rss: number }>({ op: 'peak' })).peak_rss;
  }

  /** Drops the torch model, so a large tfjs cell has the memory. */
  async free(): Promise<void> {
    await this.ask({ op: 'free' });
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
