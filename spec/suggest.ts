/** Optimal-string-alignment distance: like Levenshtein, but a swap of two neighbours ("stpes") costs 1. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate a typo most likely meant, or undefined when nothing is close enough
 * to be worth suggesting (a wrong suggestion is worse than none).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const list = [...candidates];
  const sameLetters = list.find((c) => c.toLowerCase() === word.toLowerCase());
  if (sameLetters !== undefined) return sameLetters;
  // One edit per three letters; for one- or two-letter words any edit changes most of the word.
  const limit = word.length <= 2 ? 0 : Math.max(1, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of list) {
    const dist = editDistance(word, c);
    if (dist <= limit && dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}

/** `; did you mean "x"?` or, failing that, the list of valid names so the user need not look them up. */
export function hint(word: string, candidates: string[], listLabel = 'known'): string {
  const guess = closest(word, candidates);
  if (guess !== undefined) return `; did you mean "${guess}"?`;
  if (candidates.length === 0) return '';
  return ` (${listLabel}: ${[...candidates].sort().join(', ')})`;
}
