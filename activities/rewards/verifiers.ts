// Programmatic verifiers, registered by name: a pipeline can only name one,
// never bring code. Each maps (prompt, response) to a reward in [0, 1] with
// partial credit; 1 means exactly right. Prompts carry the task, so no
// reference answer is needed (a `reference` may still be passed and wins).

export type Verifier = (prompt: string, response: string, reference?: string) => number;

/** Fraction of target characters matched position by position, over max(|target|, |answer|); 1 = exact. */
export function positionalCredit(target: string, answer: string): number {
  if (target.length === 0 && answer.length === 0) return 1;
  const n = Math.max(target.length, answer.length);
  let ok = 0;
  for (let i = 0; i < Math.min(target.length, answer.length); i++) if (target[i] === answer[i]) ok++;
  return ok / n;
}

/** The answer part of a response: up to the first newline, trimmed. */
export const answerOf = (response: string): string => response.split('\n')[0]!.trim();

/** `… <a>+<b>=` → digits of a+b compared right-aligned (units first), partial credit per digit. */
export function additionTarget(prompt: string): string | undefined {
  const m = /(\d+)\s*\+\s*(\d+)\s*=\s*$/.exec(prompt.trimEnd());
  if (!m) return undefined;
  return (BigInt(m[1]!) + BigInt(m[2]!)).toString();
}

function digitCredit(target: string, answer: string): number {
  // Right-aligned: a missing leading digit costs one digit, not all of them.
  const a = answer.replace(/\s+/g, '');
  if (!/^\d+$/.test(a)) return 0;
  const n = Math.max(target.length, a.length);
  let ok = 0;
  for (let i = 1; i <= Math.min(target.length, a.length); i++) if (target[target.length - i] === a[a.length - i]) ok++;
  return ok / n;
}

/** `reverse <s>=` → s reversed. */
export function reverseTarget(prompt: string): string | undefined {
  const m = /reverse\s+(\S+)\s*=\s*$/i.exec(prompt.trimEnd());
  return m ? [...m[1]!].reverse().join('') : undefined;
}

/** `sort <s>=` → the characters of s in ascending order. */
export function sortTarget(prompt: string): string | undefined {
  const m = /sort\s+(\S+)\s*=\s*$/i.exec(prompt.trimEnd());
  return m ? [...m[1]!].sort().join('') : undefined;
}

/** `copy <s>=` → s. */
export function copyTarget(prompt: string): string | undefined {
  const m = /copy\s+(\S+)\s*=\s*$/i.exec(prompt.trimEnd());
  return m ? m[1]! : undefined;
}

const positional =
  (target: (p: string) => string | undefined, name: string): Verifier =>
  (prompt, response, reference) => {
    const t = reference ?? target(prompt);
    if (t === undefined)
      throw new Error(`verifier "${name}" cannot read a task from prompt ${JSON.stringify(prompt.slice(-80))}`);
    return positionalCredit(t, answerOf(response));
  };

const addition: Verifier = (prompt, response, reference) => {
  const t = reference ?? additionTarget(prompt);
  if (t === undefined)
    throw new Error(`verifier "addition" cannot read "<a>+<b>=" from prompt ${JSON.stringify(prompt.slice(-80))}`);
  return digitCredit(t, answerOf(response));
};
const reverse = positional(reverseTarget, 'reverse');
const sort = positional(sortTarget, 'sort');
const copy = positional(copyTarget, 'copy');

/** `flip <s>=` → s reversed (the benchmark's name for reverse: every family's prompt is then as long). */
const flip = positional((p) => reverseTarget(p.replace(/^\s*flip\s/i, 'reverse ')), 'flip');

/** Mixed tasks (the BPO benchmark's families): the prompt's first word picks copy, reverse/flip, sort; else add. */
const tasks: Verifier = (prompt, response, reference) => {
  const op = /^\s*(copy|reverse|flip|sort)\s/i.exec(prompt)?.[1]?.toLowerCase();
  const v = op === 'copy' ? copy : op === 'reverse' ? reverse : op === 'flip' ? flip : op === 'sort' ? sort : addition;
  return v(prompt, response, reference);
};

export const VERIFIERS: Record<string, Verifier> = {
  addition,
  reverse,
  sort,
  copy,
  tasks,
  /** Needs a reference: 1 if the answer equals it, else 0. */
  exact: (_prompt, response, reference) => {
    if (reference === undefined) throw new Error('verifier "exact" needs a reference answer');
    return answerOf(response) === reference.trim() ? 1 : 0;
  },
  /** Needs a reference: positional credit against it. */
  'reference-chars': (_prompt, response, reference) => {
    if (reference === undefined) throw new Error('verifier "reference-chars" needs a reference answer');
    return positionalCredit(reference.trim(), answerOf(response));
  },
};

export function verifierNames(): string[] {
  return Object.keys(VERIFIERS).sort();
}

export function getVerifier(name: string): Verifier {
  const v = VERIFIERS[name];
  if (!v) throw new Error(`unknown verifier "${name}" (known: ${verifierNames().join(', ')})`);
  return v;
}
