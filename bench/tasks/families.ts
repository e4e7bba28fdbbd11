// The BPO benchmark's data: four synthetic task families of different difficulty,
// all read by the `tasks` verifier (activities/rewards/verifiers.ts) with partial credit:
//   copy abcde= → abcde        flip abcde=  → edcba (reverse)
//   sort ebcad= → abcde        add 523+956= → 1479
// Each family has its own amount of SFT data and its own demonstrator noise, so the
// SFT policy errs at a different rate per family. The preference set is imbalanced the
// way real sets are: the easy families have many prompts with one pair each, the hard
// ones few prompts with many pairs. Validation and test prompts are disjoint from each
// other and from training, per family. Prompt + answer is 16 characters in every family,
// and wrong answers keep the answer's length, so every pair costs the same tokens.
// Seeded; the checked-in data under pipelines/bench/data is reproducible:
//   node dist/bench/tasks/families.js [--out pipelines/bench/data] [--seed 1]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../ml/rng.js';
import { getVerifier } from '../../activities/rewards/verifiers.js';

const LETTERS = 'abcdefghi';
const DIGITS = '0123456789';

export interface FamilySpec {
  name: string;
  /** A fresh task input (the word or the two numbers). */
  input: (rng: Rng) => string;
  prompt: (input: string) => string;
  answer: (input: string) => string;
  /** SFT demonstrations and the share of them that are wrong. */
  sft: number;
  noise: number;
  /** The imbalanced preference set: prompts × pairs per prompt. */
  prefPrompts: number;
  pairsPerPrompt: number;
}

const pick = (rng: Rng, s: string) => s[Math.floor(rng.next() * s.length)]!;
const letters = (n: number) => (rng: Rng) => Array.from({ length: n }, () => pick(rng, LETTERS)).join('');
// 500–999, so every sum has four digits.
const number3 = (rng: Rng) => String(500 + Math.floor(rng.next() * 500));

export const FAMILIES: FamilySpec[] = [
  {
    name: 'copy',
    input: letters(5),
    prompt: (w) => `copy ${w}=`,
    answer: (w) => w,
    sft: 240,
    noise: 0.05,
    prefPrompts: 96,
    pairsPerPrompt: 1,
  },
  {
    name: 'reverse',
    input: letters(5),
    prompt: (w) => `flip ${w}=`,
    answer: (w) => [...w].reverse().join(''),
    sft: 240,
    noise: 0.1,
    prefPrompts: 64,
    pairsPerPrompt: 1,
  },
  {
    name: 'sort',
    input: letters(5),
    prompt: (w) => `sort ${w}=`,
    answer: (w) => [...w].sort().join(''),
    sft: 160,
    noise: 0.35,
    prefPrompts: 8,
    pairsPerPrompt: 12,
  },
  {
    name: 'add',
    input: (rng) => `${number3(rng)}+${number3(rng)}`,
    prompt: (x) => `add ${x}=`,
    answer: (x) => String(x.split('+').reduce((a, b) => a + Number(b), 0)),
    sft: 160,
    noise: 0.35,
    prefPrompts: 8,
    pairsPerPrompt: 12,
  },
];

/** The family a benchmark prompt belongs to (by its first word). */
export const familyOf = (prompt: string): string => {
  const w = /^\s*(\S+)\s/.exec(prompt)?.[1] ?? '';
  return FAMILIES.find((f) => f.prompt('x').startsWith(`${w} `))?.name ?? 'other';
};

/**
 * A plausible wrong answer with partial credit, of the answer's length (so pairs cost the same tokens
 * whatever their mix): a swap, one or two substitutions, or a rotation by one.
 */
export function corrupt(rng: Rng, answer: string, alphabet: string): string {
  const a = [...answer];
  const r = rng.next();
  if (r < 0.35) {
    const i = Math.floor(rng.next() * a.length);
    const j = Math.floor(rng.next() * a.length);
    [a[i], a[j]] = [a[j]!, a[i]!];
  } else if (r < 0.75) {
    const n = 1 + Math.floor(rng.next() * 2);
    for (let k = 0; k < n; k++) a[Math.floor(rng.next() * a.length)] = pick(rng, alphabet);
  } else a.push(a.shift()!);
  const out = a.join('');
  if (out !== answer) return out;
  // A swap of equal characters, a same-character substitution or a rotation of a repeat: change one character.
  const i = Math.floor(rng.next() * a.length);
  a[i] = alphabet[(alphabet.indexOf(a[i]!) + 1) % alphabet.length]!;
  return a.join('');
}

export interface Sizes {
  /** Validation prompts per family, one pair each. */
  val: number;
  /** Test prompts per family. */
  test: number;
}
export const DEFAULT_SIZES: Sizes = { val: 12, test: 24 };

export interface PairRow {
  prompt: string;
  chosen: string;
  rejected: string;
  score_chosen?: number;
  score_rejected?: number;
}

export function generateFamilies(seed: number, sizes: Sizes = DEFAULT_SIZES) {
  const rng = new Rng(seed);
  const score = getVerifier('tasks');
  const out = { sft: [] as PairRow[], prefs: [] as PairRow[], val: [] as PairRow[], test: [] as PairRow[] };
  for (const f of FAMILIES) {
    const alphabet = f.name === 'add' ? DIGITS : LETTERS;
    const used = new Set<string>();
    const fresh = () => {
      for (let tries = 0; tries < 100000; tries++) {
        const x = f.input(rng);
        if (!used.has(x)) return (used.add(x), x);
      }
      throw new Error(`${f.name}: ran out of distinct inputs`);
    };
    const wrong = (x: string) => corrupt(rng, f.answer(x), alphabet);
    /** A scored pair with distinct rewards: the right answer or a near-miss, against a near-miss. */
    const pairFor = (x: string): PairRow => {
      const p = f.prompt(x);
      for (;;) {
        const a = rng.next() < 0.5 ? f.answer(x) : wrong(x);
        const b = wrong(x);
        const sa = score(p, a);
        const sb = score(p, b);
        if (sa === sb) continue;
        const [c, r, sc, sr] = sa > sb ? [a, b, sa, sb] : [b, a, sb, sa];
        return { prompt: p, chosen: c, rejected: r, score_chosen: sc, score_rejected: sr };
      }
    };
    // Test and validation first, so their prompts are never trained on.
    for (let i = 0; i < sizes.test; i++) {
      const x = fresh();
      out.test.push({ prompt: f.prompt(x), chosen: f.answer(x), rejected: wrong(x) });
    }
    for (let i = 0; i < sizes.val; i++) out.val.push(pairFor(fresh()));
    for (let i = 0; i < f.sft; i++) {
      const x = fresh();
      const demo = rng.next() < f.noise ? wrong(x) : f.answer(x);
      // model.sft reads `chosen` (format: pairs); `rejected` is unused there but must differ.
      out.sft.push({ prompt: f.prompt(x), chosen: demo, rejected: demo === f.answer(x) ? wrong(x) : f.answer(x) });
    }
    for (let i = 0; i < f.prefPrompts; i++) {
      const x = fresh();
      for (let j = 0; j < f.pairsPerPrompt; j++) out.prefs.push(pairFor(x));
    }
  }
  // SFT data shuffled; test and validation round-robin by family, so that any prefix
  // (eval.generate's maxPrompts) holds the families equally.
  const roundRobin = (rows: PairRow[]) => {
    const by = FAMILIES.map((f) => rows.filter((r) => familyOf(r.prompt) === f.name));
    return Array.from({ length: Math.max(...by.map((b) => b.length)) }, (_, i) =>
      by.flatMap((b) => (b[i] ? [b[i]] : [])),
    ).flat();
  };
  out.test = roundRobin(out.test);
  out.val = roundRobin(out.val);
  const shuffle = <T>(xs: T[]) => {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  };
  shuffle(out.sft);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const opt = (name: string, d: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1]! : d);
  const dir = opt('--out', 'pipelines/bench/data');
  const data = generateFamilies(Number(opt('--seed', '1')));
  mkdirSync(dir, { recursive: true });
  const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  for (const [name, rows] of Object.entries(data)) writeFileSync(join(dir, `families-${name}.jsonl`), jsonl(rows));
  console.log(
    `wrote ${dir}: ${Object.entries(data)
      .map(([k, v]) => `${k} ${v.length}`)
      .join(', ')}`,
  );
}
