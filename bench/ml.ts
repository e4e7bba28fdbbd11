// Training-throughput benchmark for the ml core, side by side with PyTorch.
//
//   node dist/bench/ml.js [--quick] [--out=bench-results/ml.json] [--backends=tensorflow,wasm,wasm-stock,cpu]
//                         [--sizes=tiny,small,medium,gpt2] [--seconds=N] [--rounds=N] [--native-threads=N] [--no-torch]
//
// For each backend and model size it times SFT and DPO optimizer steps and
// reports tokens/s, wall and CPU seconds per step, peak RSS and GFLOP/s,
// plus the backend's plain 2-D float32 matMul GFLOP/s as the roof. When a
// Python with torch is found (bench/torch-peer.ts), every cell is also timed
// in PyTorch on the same GPT-2 shape, batch, objective and thread count,
// interleaved with the tfjs steps (tfjs chunk, torch chunk, tfjs chunk, …) so
// both see the same load on a shared machine.
//
// Backends: `tensorflow` (native tfjs-node, when installed), `wasm`,
// `wasm-stock` (wasm with tfjs's own BatchMatMul kernel: the state before
// ml/wasm-matmul.ts, measured in the same run), `cpu` (pure JS, tiny only).
// The `gpt2` size (124M, GPT-2 BPE vocabulary) runs DPO only, on tensorflow
// only, at batch 8 × 256.
//
// FLOPs per training step = 6 · N · tokens (Kaplan et al. 2020): 2·N for the
// forward pass and 4·N for the backward, N = all parameters including the
// tied embedding (it is the LM-head matmul). Attention-score FLOPs are left
// out. DPO steps count the tokens of chosen + rejected sequences through the
// policy; the reference log-probs are precomputed and not part of a step.
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendPref } from '../ml/backend.js';
import { makeConfig, type Gpt2Config } from '../ml/config.js';
import { Gpt2Model } from '../ml/gpt2.js';
import { Rng } from '../ml/rng.js';
import type { TokenizerName } from '../ml/tokenizer.js';
import { trainDpo, type RefLogps } from '../ml/train/dpo.js';
import { trainSft } from '../ml/train/sft.js';
import { useFastWasmMatMul } from '../ml/wasm-matmul.js';
import { TorchPeer, type TorchRun } from './torch-peer.js';

// TensorFlow's C++ info lines (oneDNN, CPU features) would bury the log; read when tfjs-node loads.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

export type BenchBackend = 'tensorflow' | 'wasm' | 'wasm-stock' | 'cpu';
// tensorflow last: its memory stays in the process, and would inflate the wasm cells' peak RSS.
const ALL_BACKENDS: BenchBackend[] = ['wasm', 'wasm-stock', 'cpu', 'tensorflow'];

export interface BenchMlOptions {
  quick?: boolean;
  backends?: BenchBackend[];
  sizes?: string[];
  /** Sequences per step (DPO: pairs = batch/2, so tokens per step match SFT). */
  batchSize?: number;
  seqLen?: number;
  /** Seconds of timed steps per cell and framework, after one warm-up step. */
  secondsPerCell?: number;
  /** tfjs/torch alternations per cell. */
  rounds?: number;
  /** TensorFlow's intra-op threads (must be chosen before tfjs-node loads); default one per core. */
  nativeThreads?: number;
  /** Largest model the slow variants (cpu, wasm-stock) run. */
  cpuMaxParams?: number;
  stockMaxParams?: number;
  torch?: boolean;
  log?: (line: string) => void;
}

interface Timing {
  steps: number;
  secondsPerStep: number;
  /** Process CPU time per step: less sensitive than wall time to other load on the host. */
  cpuSecondsPerStep: number;
  tokensPerSecond: number;
  peakRssBytes: number | null;
}

interface Cell extends Timing {
  backend: BenchBackend;
  size: string;
  params: number;
  mode: 'sft' | 'dpo';
  batchSize: number;
  seqLen: number;
  threads: number;
  gflops: number;
  /** Achieved / plain 2-D matMul roof. */
  roofFraction: number;
  /** interleaved: false when torch ran just before instead (models over 100M parameters). */
  torch: (Timing & { threads: number; interleaved?: false }) | { error: string } | null;
  /** tfjs tok/s ÷ torch tok/s, both wall-clock, interleaved. */
  ratioToTorch: number | null;
  /** torch CPU-s per step ÷ tfjs CPU-s per step: the same ratio in CPU time. */
  cpuRatioToTorch: number | null;
}

// Linux: writing 5 to clear_refs resets VmHWM, so each cell reports its own peak.
function resetPeakRss(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    /* not Linux: peaks then accumulate over the run */
  }
}
function peakRss(): number | null {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return process.resourceUsage().maxRSS * 1024;
  }
}

function randomText(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + rng.int(26));
  return s;
}

async function matmulRoof(sizes: number[], seconds: number, transposeB = false): Promise<number> {
  // Best of a few square sizes: small ones under-fill the kernel, and the roof is meant as an upper bound.
  let best = 0;
  for (const n of sizes) best = Math.max(best, await matmulAt(n, seconds / sizes.length, transposeB));
  return best;
}

async function matmulAt(n: number, seconds: number, transposeB: boolean): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  // Read the result outside tidy: tidy walks a returned typed array element
  // by element, which costs more than the product itself.
  const once = () => {
    const c = tf.matMul(a, b, false, transposeB);
    c.dataSync();
    c.dispose();
  };
  once(); // warm-up (kernel init, allocation)
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || reps < 2) {
    once();
    reps++;
  }
  const dt = (performance.now() - t0) / 1000;
  a.dispose();
  b.dispose();
  return (2 * n ** 3 * reps) / dt / 1e9;
}

/**
 * Times optimizer steps of one model. Step 1 is warm-up; then `rounds`
 * chunks of seconds/rounds each, with `between` awaited after each chunk
 * (the torch chunk). Waiting time is excluded from the tfjs figures.
 */
async function timeSteps(
  mode: 'sft' | 'dpo',
  model: Gpt2Model,
  batchSize: number,
  seqLen: number,
  seconds: number,
  rounds: number,
  between: (seconds: number) => Promise<void>,
): Promise<Omit<Timing, 'peakRssBytes' | 'tokensPerSecond'>> {
  const rng = new Rng(1);
  // Texts longer than the budget: encodeExample then keeps exactly half
  // prompt, half response (+EOS) tokens, whatever the tokenizer.
  const half = Math.floor(seqLen / 2);
  const len = { maxLength: seqLen + 1 };
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let chunk = 0;
  let chunkMs = 0;
  let stop = false;
  const hooks = {
    onStep: async () => {
      const now = performance.now();
      const cpu = process.cpuUsage();
      times.push(now - last);
      cpuTimes.push((cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000);
      if (times.length > 1) chunkMs += now - last;
      if (chunkMs >= (seconds / rounds) * 1000) {
        chunk++;
        chunkMs = 0;
        await between(seconds / rounds);
        if (chunk >= rounds) stop = true;
      }
      last = performance.now();
      lastCpu = process.cpuUsage();
    },
    shouldStop: () => stop,
  };
  const config = { maxSteps: 1_000_000, batchSize, learningRate: 1e-4, ...len };
  if (mode === 'sft') {
    const examples = Array.from({ length: batchSize * 4 }, () => ({
      prompt: randomText(rng, 4 * half),
      response: randomText(rng, 4 * seqLen),
    }));
    (await trainSft({ model, examples, config, ...hooks })).dispose();
  } else {
    const pairsPerStep = Math.max(1, Math.floor(batchSize / 2));
    const pairs = Array.from({ length: pairsPerStep * 4 }, () => ({
      prompt: randomText(rng, 4 * half),
      chosen: randomText(rng, 4 * seqLen),
      rejected: randomText(rng, 4 * seqLen),
    }));
    const zeros = pairs.map(() => -10);
    const ones = pairs.map(() => 1);
    const ref: RefLogps = { chosen: zeros, rejected: zeros, chosenTokens: ones, rejectedTokens: ones };
    (
      await trainDpo({ policy: model, pairs, refLogps: ref, config: { ...config, batchSize: pairsPerStep }, ...hooks })
    ).dispose();
  }
  const timed = times.slice(1);
  const cpuTimed = cpuTimes.slice(1);
  return {
    steps: timed.length,
    secondsPerStep: timed.reduce((a, b) => a + b, 0) / timed.length / 1000,
    cpuSecondsPerStep: cpuTimed.reduce((a, b) => a + b, 0) / cpuTimed.length / 1000,
  };
}

interface SizeSpec {
  size: string;
  config: Gpt2Config;
  tokenizer: TokenizerName;
  batchSize: number;
  seqLen: number;
  modes: ('sft' | 'dpo')[];
}

function sizeSpec(size: string, batchSize: number, seqLen: number, quick: boolean): SizeSpec {
  if (size === 'gpt2') {
    // The real GPT-2 small: BPE vocabulary, the issue's batch 8 × 256 (quick: 2 × 64).
    return {
      size,
      config: makeConfig('gpt2', 50257),
      tokenizer: 'gpt2',
      batchSize: quick ? 2 : 8,
      seqLen: quick ? 64 : 256,
      modes: ['dpo'],
    };
  }
  return { size, config: makeConfig(size, 258), tokenizer: 'byte', batchSize, seqLen, modes: ['sft', 'dpo'] };
}

async function activate(b: BenchBackend): Promise<{ ok: boolean; reason: string }> {
  const pref: BackendPref = b === 'wasm-stock' ? 'wasm' : b;
  const choice = await selectBackend(pref);
  useFastWasmMatMul(b !== 'wasm-stock');
  return { ok: choice.name === pref, reason: choice.reason };
}

/** Threads the backend computes with; torch gets the same number. */
function backendThreads(b: BenchBackend): number {
  // TensorFlow's intra-op pool: TF_NUM_INTRAOP_THREADS when set (read as tfjs-node loads), else one per core.
  if (b === 'tensorflow') return Number(process.env.TF_NUM_INTRAOP_THREADS) || os.cpus().length;
  return 1; // wasm here has no threads (no SharedArrayBuffer workers in Node); cpu is plain JS
}

function fmtBytes(n: number | null | undefined): string {
  return n == null ? '–' : `${(n / 2 ** 20).toFixed(0)} MB`;
}

export function ratioTable(cells: Cell[]): string {
  const rows = [
    '| backend | model | mode | batch×seq | tfjs tok/s | PyTorch tok/s (threads) | ratio | CPU-time ratio | tfjs CPU-s/step | peak RSS tfjs / torch |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const c of cells) {
    const t = c.torch && 'tokensPerSecond' in c.torch ? c.torch : null;
    const torchCol = t
      ? `${t.tokensPerSecond.toFixed(0)} (${t.threads})`
      : c.torch && 'error' in c.torch
        ? 'error'
        : '–';
    rows.push(
      `| ${c.backend} | ${c.size} (${(c.params / 1e6).toFixed(2)}M) | ${c.mode.toUpperCase()} | ${c.batchSize}×${c.seqLen} | ${c.tokensPerSecond.toFixed(0)} | ${torchCol} | ${c.ratioToTorch == null ? '–' : c.ratioToTorch.toFixed(2) + '×'} | ${c.cpuRatioToTorch == null ? '–' : c.cpuRatioToTorch.toFixed(2) + '×'} | ${c.cpuSecondsPerStep.toFixed(3)} | ${fmtBytes(c.peakRssBytes)} / ${fmtBytes(t?.peakRssBytes)} |`,
    );
  }
  return rows.join('\n');
}

export async function benchMl(opts: BenchMlOptions = {}): Promise<{ table: string } & Record<string, unknown>> {
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((s: string) => console.error(s));
  const backends = opts.backends ?? ALL_BACKENDS;
  const sizes = opts.sizes ?? ['tiny', 'small', 'medium', 'gpt2'];
  const batchSize = opts.batchSize ?? (quick ? 2 : 4);
  const seqLen = opts.seqLen ?? (quick ? 32 : 64);
  const seconds = opts.secondsPerCell ?? (quick ? 1 : 4);
  const rounds = opts.rounds ?? (quick ? 1 : 2);
  const cpuMaxParams = opts.cpuMaxParams ?? 2e6;
  const stockMaxParams = opts.stockMaxParams ?? 12e6;
  const results: Cell[] = [];
  const roofs: Record<string, number> = {};
  const transposedGflops: Record<string, number> = {};
  const backendInfo: Record<string, string> = {};
  if (opts.nativeThreads) {
    process.env.TF_NUM_INTRAOP_THREADS = String(opts.nativeThreads);
    process.env.TF_NUM_INTEROP_THREADS = '1';
  }
  const torch = opts.torch === false ? null : await TorchPeer.start(log);

  try {
    for (const b of backends) {
      const active = await activate(b);
      if (!active.ok) {
        log(`skip ${b}: ${active.reason}`);
        continue;
      }
      backendInfo[b] = b === 'wasm-stock' ? `${active.reason}; tfjs's own BatchMatMul kernel` : active.reason;
      const roofSizes = b === 'cpu' ? [256] : b === 'tensorflow' ? [512, 1024, 2048] : [512, 1024];
      roofs[b] = await matmulRoof(roofSizes, quick ? 1 : 2);
      if (b.startsWith('wasm')) transposedGflops[b] = await matmulRoof([512], quick ? 0.5 : 1, true);
      log(
        `${b}: plain 2-D matMul roof ${roofs[b]!.toFixed(1)} GFLOP/s${b in transposedGflops ? `; with transposeB ${transposedGflops[b]!.toFixed(1)}` : ''}`,
      );
      const threads = backendThreads(b);
      for (const size of sizes) {
        const spec = sizeSpec(size, batchSize, seqLen, quick);
        if (size === 'gpt2' && b !== 'tensorflow') continue;
        const model = Gpt2Model.init(spec.config, 0, spec.tokenizer);
        const N = model.parameterCount();
        const cap = b === 'cpu' ? cpuMaxParams : b === 'wasm-stock' ? stockMaxParams : Infinity;
        if (N > cap) {
          log(`${b} ${size}: skipped (${(N / 1e6).toFixed(1)}M params > ${b} cap ${(cap / 1e6).toFixed(1)}M)`);
          model.dispose();
          continue;
        }
        for (const mode of spec.modes) {
          const tokens = spec.batchSize * spec.seqLen;
          let torchCell: Cell['torch'] = null;
          const torchRuns: TorchRun[] = [];
          let torchOk = false;
          if (torch) {
            try {
              const c = spec.config;
              await torch.setup({
                n_layer: c.n_layer,
                n_head: c.n_head,
                n_embd: c.n_embd,
                n_positions: c.n_positions,
                vocab: c.vocab_size,
                mode,
                batch: spec.batchSize,
                seq: spec.seqLen,
                threads,
              });
              torchOk = true;
            } catch (e) {
              torchCell = { error: (e as Error).message };
            }
          }
          const torchSummary = async () => {
            const steps = torchRuns.reduce((a, r) => a + r.steps, 0);
            const wall = torchRuns.reduce((a, r) => a + r.wall, 0);
            const cpu = torchRuns.reduce((a, r) => a + r.cpu, 0);
            return {
              steps,
              secondsPerStep: wall / steps,
              cpuSecondsPerStep: cpu / steps,
              tokensPerSecond: (tokens * steps) / wall,
              peakRssBytes: await torch!.peakRss(),
              threads,
            };
          };
          const between = async (s: number) => {
            if (!torch || !torchOk) return;
            try {
              torchRuns.push(await torch.run(s));
            } catch (e) {
              torchOk = false;
              torchCell = { error: (e as Error).message };
            }
          };
          // Models too large for both frameworks at once on this host (gpt2: ~12 GB
          // in tfjs) run torch first and free it, instead of interleaving.
          const interleaved = N < 100e6;
          if (!interleaved && torch && torchOk) {
            await between(seconds);
            if (torchOk) torchCell = { ...(await torchSummary()), interleaved: false };
            await torch.free();
          }
          resetPeakRss();
          const t = await timeSteps(
            mode,
            model,
            spec.batchSize,
            spec.seqLen,
            seconds,
            interleaved ? rounds : 1,
            interleaved ? between : async () => {},
          );
          const rss = peakRss();
          if (interleaved && torch && torchOk && torchRuns.length) torchCell = await torchSummary();
          const tps = tokens / t.secondsPerStep;
          const gflops = (6 * N * tokens) / t.secondsPerStep / 1e9;
          const tc = torchCell && 'tokensPerSecond' in torchCell ? (torchCell as Timing) : null;
          const cell: Cell = {
            backend: b,
            size,
            params: N,
            mode,
            batchSize: spec.batchSize,
            seqLen: spec.seqLen,
            threads,
            ...t,
            tokensPerSecond: tps,
            peakRssBytes: rss,
            gflops,
            roofFraction: gflops / roofs[b]!,
            torch: torchCell,
            ratioToTorch: tc ? tps / tc.tokensPerSecond : null,
            cpuRatioToTorch: tc ? tc.cpuSecondsPerStep / t.cpuSecondsPerStep : null,
          };
          results.push(cell);
          log(
            `${b} ${size} (${(N / 1e6).toFixed(2)}M) ${mode}: ${tps.toFixed(0)} tok/s, ${t.secondsPerStep.toFixed(3)} s/step, cpu ${t.cpuSecondsPerStep.toFixed(3)} s/step, ` +
              `${gflops.toFixed(2)} GFLOP/s (${(cell.roofFraction * 100).toFixed(0)}% of roof), peak RSS ${fmtBytes(rss)}` +
              (tc
                ? `; torch ${tc.tokensPerSecond.toFixed(0)} tok/s → ratio ${cell.ratioToTorch!.toFixed(2)}× (CPU ${cell.cpuRatioToTorch!.toFixed(2)}×)`
                : torchCell
                  ? `; torch: ${(torchCell as { error: string }).error}`
                  : ''),
          );
        }
        model.dispose();
      }
    }
  } finally {
    torch?.stop();
    useFastWasmMatMul(true);
  }
  await selectBackend('auto');
  const table = ratioTable(results);
  log('\n' + table);
  return {
    flopsFormula:
      '6 * params * tokens per optimizer step (attention scores excluded); tokens = batch * seqLen positions',
    settings: { quick, batchSize, seqLen, secondsPerCell: seconds, rounds, cpuMaxParams, stockMaxParams },
    host: { cpus: os.cpus().length, node: process.version, loadAvg1mAtEnd: os.loadavg()[0] },
    torch: torch ? { version: torch.version } : null,
    notes: [
      'ratioToTorch = tfjs tok/s / PyTorch tok/s at the same thread count, measured interleaved in the same process run',
      'cpuRatioToTorch = PyTorch CPU-s per step / tfjs CPU-s per step (steadier than wall time on a loaded host)',
      'PyTorch runs with OMP_WAIT_POLICY=PASSIVE unless set: on a shared, oversubscribed host spinning OpenMP threads collapse its 2-thread speed',
      "peakRssBytes: VmHWM reset at the start of each cell; the wasm heap never shrinks, so a wasm cell also carries earlier cells' heap",
    ],
    backends: backendInfo,
    matmulRoofGflops: roofs,
    matmulTransposeBGflops: transposedGflops,
    results,
    table,
  };
}

export function parseMlArgs(argv: string[]): { out?: string; opts: BenchMlOptions } {
  const opts: BenchMlOptions = {};
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]!);
    if (a === '--quick') opts.quick = true;
    else if (a === '--no-torch') opts.torch = false;
    else if (a.startsWith('--out')) out = val();
    else if (a.startsWith('--backends')) {
      const list = val().split(',') as BenchBackend[];
      const bad = list.filter((b) => !ALL_BACKENDS.includes(b));
      if (bad.length) throw new Error(`unknown backend ${bad.join(', ')} (known: ${ALL_BACKENDS.join(', ')})`);
      opts.backends = list;
    } else if (a.startsWith('--sizes')) opts.sizes = val().split(',');
    else if (a.startsWith('--seconds')) opts.secondsPerCell = Number(val());
    else if (a.startsWith('--rounds')) opts.rounds = Number(val());
    else if (a.startsWith('--native-threads')) opts.nativeThreads = Number(val());
    else throw new Error(`unknown argument ${a}`);
  }
  return { out, opts };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { out, opts } = parseMlArgs(process.argv.slice(2));
  const result = await benchMl(opts);
  const json = JSON.stringify(result, null, 2);
  if (out) {
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, json + '\n');
    console.error(`wrote ${out}`);
  } else console.log(json);
}
