// A synthetic task with a partial-credit verifier: reverse a short string.
// `reverse abcd=` → `dcba`; reward = fraction of characters in the right place
// (the `reverse` verifier in activities/rewards). Seeded, so the checked-in
// data under pipelines/bench/data is reproducible:
//   node dist/bench/tasks/reverse.js [--out pipelines/bench/data] [--seed 1]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../ml/rng.js';
import { getVerifier } from '../../activities/rewards/verifiers.js';

// Fixed-length words: a micro model can learn the position mapping in a few hundred steps.
export const ALPHABET = 'abcdefghi';

export interface TaskSizes {
  sft: number;
  /** Prompts with one pair each (breadth). */
  shallow: number;
  /** Prompts with many pairs each. */
  deep: number;
  deepPairs: number;
  test: number;
  minLen: number;
  maxLen: number;
}

export const DEFAULT_SIZES: TaskSizes = { sft: 300, shallow: 160, deep: 8, deepPairs: 12, test: 48, minLen: 3, maxLen: 3 };

const word = (rng: Rng, min: number, max: number) => {
  const n = min + Math.floor(rng.next() * (max - min + 1));
  return Array.from({ length: n }, () => ALPHABET[Math.floor(rng.next() * ALPHABET.length)]!).join('');
};
export const promptOf = (w: string) => `reverse ${w}=`;
export const answerOf = (w: string) => [...w].reverse().join('');

/** A plausible wrong answer with partial credit: swaps, substitutions, truncation or the unreversed word. */
export function corrupt(rng: Rng, w: string): string {
  const a = [...answerOf(w)];
  const r = rng.next();
  if (r < 0.3) {
    const i = Math.floor(rng.next() * a.length);
    const j = Math.floor(rng.next() * a.length);
    [a[i], a[j]] = [a[j]!, a[i]!];
  } else if (r < 0.6) {
    const n = 1 + Math.floor(rng.next() * 2);
    for (let k = 0; k < n; k++) a[Math.floor(rng.next() * a.length)] = ALPHABET[Math.floor(rng.next() * ALPHABET.length)]!;
  } else if (r < 0.8) return w;
  else return a.slice(0, Math.max(1, a.length - 1 - Math.floor(rng.next() * 2))).join('');
  return a.join('');
}

export function generateTask(seed: number, sizes: TaskSizes = DEFAULT_SIZES) {
  const rng = new Rng(seed);
  const v = getVerifier('reverse');
  const used = new Set<string>();
  const fresh = () => {
    for (;;) {
      const w = word(rng, sizes.minLen, sizes.maxLen);
      if (!used.has(w)) {
        used.add(w);
        return w;
      }
    }
  };
  const test = Array.from({ length: sizes.test }, fresh);
  // SFT data: mostly right, sometimes a corrupted answer (the imperfect demonstrator that makes SFT imperfect).
  const sft = Array.from({ length: sizes.sft }, () => {
    const w = fresh();
    return { prompt: promptOf(w), completion: rng.next() < 0.7 ? answerOf(w) : corrupt(rng, w) };
  });
  const pairFor = (w: string) => {
    for (;;) {
      const a = rng.next() < 0.5 ? answerOf(w) : corrupt(rng, w);
      const b = corrupt(rng, w);
      const sa = v(promptOf(w), a);
      const sb = v(promptOf(w), b);
      if (sa !== sb && a !== b) return sa > sb ? { prompt: promptOf(w), chosen: a, rejected: b, score_chosen: sa, score_rejected: sb } : { prompt: promptOf(w), chosen: b, rejected: a, score_chosen: sb, score_rejected: sa };
    }
  };
  const prefs: unknown[] = [];
  for (let i = 0; i < sizes.shallow; i++) prefs.push(pairFor(fresh()));
  for (let i = 0; i < sizes.deep; i++) {
    const w = fresh();
    for (let j = 0; j < sizes.deepPairs; j++) prefs.push(pairFor(w));
  }
  return {
    sft: sft.map((x) => ({ messages: [{ role: 'user', content: x.prompt }, { role: 'assistant', content: x.completion }] })),
    sftPairs: sft,
    prefs,
    test: test.map((w) => {
      let rejected = corrupt(rng, w);
      while (rejected === answerOf(w)) rejected = corrupt(rng, w);
      return { prompt: promptOf(w), chosen: answerOf(w), rejected };
    }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const opt = (name: string, d: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : d);
  const out = opt('--out', 'pipelines/bench/data');
  const seed = Number(opt('--seed', '1'));
  const t = generateTask(seed);
  mkdirSync(out, { recursive: true });
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const crng = new Rng(seed + 1000);
  const sftRows = t.sftPairs.map((x) => {
    let rejected = corrupt(crng, x.prompt.slice('reverse '.length, -1));
    if (rejected === x.completion) rejected = x.completion + 'a';
    return { prompt: x.prompt, chosen: x.completion, rejected };
  });
  writeFileSync(join(out, 'reverse-sft.jsonl'), jsonl(sftRows));
  writeFileSync(join(out, 'reverse-prefs.jsonl'), jsonl(t.prefs));
  writeFileSync(join(out, 'reverse-test.jsonl'), jsonl(t.test));
  console.log(`wrote ${out}: sft ${t.sft.length}, prefs ${t.prefs.length}, test ${t.test.length}`);
}
