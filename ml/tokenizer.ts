// Two tokenizers behind one interface. The byte-level one keeps tiny models
// tiny (vocab 258 instead of 50257, so the embedding doesn't dwarf the
// transformer); GPT-2 BPE is there for real GPT-2 checkpoints.
import { encode as bpeEncode, decode as bpeDecode } from 'gpt-tokenizer/encoding/r50k_base';

/** `hf`: the model folder's own tokenizer.json (hf-tokenizer.ts), carried by the model. */
export type TokenizerName = 'byte' | 'gpt2' | 'hf';

export interface Tokenizer {
  readonly name: TokenizerName;
  readonly vocabSize: number;
  /** Appended to every response so the model learns to stop. */
  readonly eosId: number;
  /** Only ever sits under a zero mask; its value never reaches a loss. */
  readonly padId: number;
  /** Ids put before a plain-text prompt (an HF tokenizer's BOS); none for byte and gpt2. */
  readonly prefixIds?: number[];
  tokenize(text: string): number[];
  /** Special tokens are dropped, not rendered. */
  detokenize(ids: ArrayLike<number>): string;
}

/**
 * Byte-level: ids 0..255 are raw UTF-8 bytes, 256 = EOS, 257 = PAD.
 * vocabSize = 258.
 */
export class ByteTokenizer implements Tokenizer {
  readonly name = 'byte' as const;
  readonly vocabSize = 258;
  readonly eosId = 256;
  readonly padId = 257;
  private enc = new TextEncoder();
  private dec = new TextDecoder();
  tokenize(text: string): number[] {
    return Array.from(this.enc.encode(text));
  }
  detokenize(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let i = 0; i < ids.length; i++) if (ids[i]! < 256) bytes.push(ids[i]!);
    return this.dec.decode(new Uint8Array(bytes));
  }
}

/**
 * GPT-2 BPE (r50k_base), vocabSize 50257. EOS = PAD = 50256 (<|endoftext|>),
 * as Hugging Face pipelines do for GPT-2; padding is always masked anyway.
 */
export class Gpt2Tokenizer implements Tokenizer {
  readonly name = 'gpt2' as const;
  readonly vocabSize = 50257;
  readonly eosId = 50256;
  readonly padId = 50256;
  tokenize(text: string): number[] {
    // User text containing "<|endoftext|>" is encoded as literal text rather
    // than throwing or silently becoming EOS.
    return bpeEncode(text, { disallowedSpecial: new Set() });
  }
  detokenize(ids: ArrayLike<number>): string {
    return bpeDecode(Array.from(ids).filter((i) => i !== this.eosId));
  }
}

export function getTokenizer(name: TokenizerName | string): Tokenizer {
  if (name === 'byte') return new ByteTokenizer();
  if (name === 'gpt2') return new Gpt2Tokenizer();
  if (name === 'hf') throw new Error('tokenizer "hf" is read from the model folder (tokenizer.json), not built in');
  throw new Error(`unknown tokenizer "${name}" (expected "byte" or "gpt2")`);
}
