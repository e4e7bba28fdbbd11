// Training-throughput benchmark for the ml core.
//
//   node dist/bench/ml.js [--quick] [--out bench-results/ml.json] [--backends wasm,cpu] [--sizes tiny,small,medium]
//
// For each backend and model size it times SFT and DPO optimizer steps on
// synthetic byte-level data and reports tokens/s and achieved GFLOP/s, plus
// the backend's plain float32 matMul GFLOP/s as the roof.
//
// FLOPs per training step = 6 · N · tokens (Kaplan et al. 2020): 2·N for the
// forward pass and 4·N for the backward, N = all parameters including the
// tied embedding (it is the LM-head matmul). Attention-score FLOPs
// (≈ 12·n_layer·T·n_embd per token) are left out, so at short sequence
// lengths the number slightly understates the work done. DPO steps count
// the tokens of chosen + rejected sequences through the policy; the reference
// log-probs are precomputed and not part of a step.
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendPref } from '../ml/backend.js';
import { makeConfig } from '../ml/config.js';
import { Gpt2Model } from '../ml/gpt2.js';
import { Rng } from '../ml/rng.js';
import { trainDpo, type RefLogps } from '../ml/train/dpo.js';
import { trainSft } from '../ml/train/sft.js';

export interface BenchMlOptions {
  quick?: boolean;
  backends?: BackendPref[];
  sizes?: string[];
  /** Sequences per step (DPO: pairs = batch/2, so tokens per step match SFT). */
  batchSize?: number;
  seqLen?: number;
  /** Seconds of timed steps per cell after one warm-up step. */
  secondsPerCell?: number;
  /** Cap on the pure-JS cpu backend, which is 10–100× slower. */
  cpuMaxParams?: number;
  log?: (line: string) => void;
}

interface Cell {
  backend: string;
  size: string;
  params: number;
  mode: 'sft' | 'dpo';
  batchSize: number;
  seqLen: number;
  steps: number;
  secondsPerStep: number;
  /** Process CPU time per step: less sensitive than wall time to other load on the host. */
  cpuSecondsPerStep: number;
  tokensPerSecond: number;
  gflops: number;
  /** Achieved / matMul roof. */
  roofFraction: number;
}

function randomText(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(97 + rng.int(26));
  return s;
}

async function matmulRoof(sizes: number[], seconds: number): Promise<number> {
  // Best of a few square sizes: small ones under-fill the kernel, and the roof is meant as an upper bound.
  let best = 0;
  for (const n of sizes) best = Math.max(best, await matmulAt(n, seconds / sizes.length));
  return best;
}

async function matmulAt(n: number, seconds: number): Promise<number> {
  const a = tf.randomNormal([n, n], 0, 1, 'float32', 1);
  const b = tf.randomNormal([n, n], 0, 1, 'float32', 2);
  tf.tidy(() => tf.matMul(a, b).dataSync()); // warm-up (kernel init, allocation)
  let reps = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || reps < 2) {
    tf.tidy(() => tf.matMul(a, b).dataSync());
    reps++;
  }
  const dt = (performance.now() - t0) / 1000;
  a.dispose();
  b.dispose();
  return (2 * n ** 3 * reps) / dt / 1e9;
}

async function timeSteps(
  mode: 'sft' | 'dpo',
  model: Gpt2Model,
  batchSize: number,
  seqLen: number,
  seconds: number,
): Promise<{ steps: number; secondsPerStep: number; cpuSecondsPerStep: number }> {
  const rng = new Rng(1);
  // Prompt and response each half the sequence; maxLength fixes the length exactly (EOS included).
  const half = Math.floor(seqLen / 2);
  const len = { maxLength: seqLen + 1 };
  const times: number[] = [];
  const cpuTimes: number[] = [];
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let stop = false;
  const hooks = {
    onStep: () => {
      const now = performance.now();
      times.push(now - last);
      last = now;
      const cpu = process.cpuUsage();
      cpuTimes.push((cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000);
      lastCpu = cpu;
      // Step 1 is warm-up; stop once the timed steps fill the budget.
      const timed = times.slice(1);
      if (timed.length >= 1 && timed.reduce((a, b) => a + b, 0) >= seconds * 1000) stop = true;
    },
    shouldStop: () => stop,
  };
  const config = { maxSteps: 1_000_000, batchSize, learningRate: 1e-4, ...len };
  if (mode === 'sft') {
    const examples = Array.from({ length: batchSize * 4 }, () => ({ prompt: randomText(rng, half), response: randomText(rng, seqLen) }));
    (await trainSft({ model, examples, config, ...hooks })).dispose();
  } else {
    const pairsPerStep = Math.max(1, Math.floor(batchSize / 2));
    const pairs = Array.from({ length: pairsPerStep * 4 }, () => ({ prompt: randomText(rng, half), chosen: randomText(rng, seqLen), rejected: randomText(rng, seqLen) }));
    const zeros = pairs.map(() => -10);
    const ones = pairs.map(() => 1);
    const ref: RefLogps = { chosen: zeros, rejected: zeros, chosenTokens: ones, rejectedTokens: ones };
    (await trainDpo({ policy: model, pairs, refLogps: ref, config: { ...config, batchSize: pairsPerStep }, ...hooks })).dispose();
  }
  const timed = times.slice(1);
  const cpuTimed = cpuTimes.slice(1);
  return {
    steps: timed.length,
    secondsPerStep: timed.reduce((a, b) => a + b, 0) / timed.length / 1000,
    cpuSecondsPerStep: cpuTimed.reduce((a, b) => a + b, 0) / cpuTimed.length / 1000,
  };
}

export async function benchMl(opts: BenchMlOptions = {}): Promise<object> {
  const quick = opts.quick ?? false;
  const log = opts.log ?? ((s: string) => console.error(s));
  const backends = opts.backends ?? ['wasm', 'cpu'];
  const sizes = opts.sizes ?? ['tiny', 'small', 'medium'];
  const batchSize = opts.batchSize ?? (quick ? 2 : 4);
  const seqLen = opts.seqLen ?? (quick ? 32 : 64);
  const seconds = opts.secondsPerCell ?? (quick ? 1 : 5);
  const cpuMaxParams = opts.cpuMaxParams ?? 2e6;
  const results: Cell[] = [];
  const roofs: Record<string, number> = {};
  const backendInfo: Record<string, string> = {};

  for (const pref of backends) {
    const choice = await selectBackend(pref);
    if (choice.name !== pref) {
      log(`skip ${pref}: got ${choice.name} (${choice.reason})`);
      continue;
    }
    backendInfo[pref] = choice.reason;
    roofs[pref] = await matmulRoof(pref === 'cpu' ? [256] : [512, 1024], quick ? 1 : 3);
    log(`${pref}: matMul roof ${roofs[pref]!.toFixed(2)} GFLOP/s`);
    for (const size of sizes) {
      const config = makeConfig(size, 258);
      const model = Gpt2Model.init(config, 0, 'byte');
      const N = model.parameterCount();
      if (pref === 'cpu' && N > cpuMaxParams) {
        log(`${pref} ${size}: skipped (${(N / 1e6).toFixed(1)}M params > cpu cap ${(cpuMaxParams / 1e6).toFixed(1)}M)`);
        model.dispose();
        continue;
      }
      for (const mode of ['sft', 'dpo'] as const) {
        const t = await timeSteps(mode, model, batchSize, seqLen, seconds);
        // Exact tokens: each sequence is seqLen+1 long, seqLen positions predicted.
        const tokens = batchSize * seqLen;
        const tps = tokens / t.secondsPerStep;
        const gflops = (6 * N * tokens) / t.secondsPerStep / 1e9;
        const cell: Cell = { backend: pref, size, params: N, mode, batchSize, seqLen, steps: t.steps, secondsPerStep: t.secondsPerStep, cpuSecondsPerStep: t.cpuSecondsPerStep, tokensPerSecond: tps, gflops, roofFraction: gflops / roofs[pref]! };
        results.push(cell);
        log(`${pref} ${size} (${(N / 1e6).toFixed(2)}M) ${mode}: ${t.secondsPerStep.toFixed(3)} s/step, ${tps.toFixed(0)} tok/s, ${gflops.toFixed(2)} GFLOP/s (${(cell.roofFraction * 100).toFixed(0)}% of roof), cpu ${t.cpuSecondsPerStep.toFixed(3)} s/step`);
      }
      model.dispose();
    }
  }
  await selectBackend('auto');
  return {
    flopsFormula: '6 * params * tokens per optimizer step (attention scores excluded); tokens = batch * seqLen predicted positions',
    settings: { quick, batchSize, seqLen, secondsPerCell: seconds, cpuMaxParams },
    host: { cpus: os.cpus().length, node: process.version, loadAvg1mAtEnd: os.loadavg()[0] },
    backends: backendInfo,
    matmulRoofGflops: roofs,
    results,
  };
}

function parseArgs(argv: string[]): { out?: string; opts: BenchMlOptions } {
  const opts: BenchMlOptions = {};
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]!);
    if (a === '--quick') opts.quick = true;
    else if (a.startsWith('--out')) out = val();
    else if (a.startsWith('--backends')) opts.backends = val().split(',') as BackendPref[];
    else if (a.startsWith('--sizes')) opts.sizes = val().split(',');
    else if (a.startsWith('--seconds')) opts.secondsPerCell = Number(val());
    else throw new Error(`unknown argument ${a}`);
  }
  return { out, opts };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { out, opts } = parseArgs(process.argv.slice(2));
  const result = await benchMl(opts);
  const json = JSON.stringify(result, null, 2);
  if (out) {
    await mkdir(path.dirname(out), { recursive: true });
    await writeFile(out, json + '\n');
    console.error(`wrote ${out}`);
  } else console.log(json);
}
