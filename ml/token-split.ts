// Tokenizing text that is made of parts (prompt | response, chat turns)
// the way the model will see it: the whole text at once, then cut where the
// parts meet. Tokenizing each part alone differs at the seams: a
// SentencePiece-style tokenizer puts "▁" before every call's text, and BPE
// merges can cross a seam.
import type { Tokenizer } from './tokenizer.js';

/**
 * ids of parts.join('') split into one array per part. A token that
 * straddles a seam goes to the later part.
 */
export function tokenizeParts(tok: Tokenizer, parts: string[]): number[][] {
  const full = tok.tokenize(parts.join(''));
  const out: number[][] = [];
  let text = '';
  let from = 0;
  for (let i = 0; i < parts.length; i++) {
    text += parts[i];
    let to = full.length;
    if (i < parts.length - 1) {
      // The seam is where the tokenization of the text so far stops agreeing with the whole.
      const prefix = tok.tokenize(text);
      to = 0;
      while (to < prefix.length && to < full.length && prefix[to] === full[to]) to++;
      if (to < prefix.length) to = Math.max(from, to);
    }
    to = Math.max(from, to);
    out.push(full.slice(from, to));
    from = to;
  }
  return out;
}
