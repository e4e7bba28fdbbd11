// Our two tokenizers as Hugging Face tokenizer files, so an exported model
// loads in transformers with AutoTokenizer and encodes exactly as here:
//  - byte: a byte-level BPE with no merges, so every UTF-8 byte b is token b,
//    plus <|endoftext|> (256, EOS) and <|pad|> (257).
//  - gpt2: GPT-2's own vocabulary and merges, rebuilt from the r50k_base
//    ranks gpt-tokenizer ships (ids are the ranks, as in GPT-2).
// Both set split_special_tokens: our tokenizers encode "<|endoftext|>" typed in
// user text as plain text, never as EOS; transformers then does the same.
import { createRequire } from 'node:module';
import type { TokenizerName } from './tokenizer.js';

/** GPT-2's reversible byte → printable character map (bytes_to_unicode in transformers). */
export function byteToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const out: string[] = new Array(256);
  for (const b of bs) out[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) if (out[b] === undefined) out[b] = String.fromCodePoint(256 + n++);
  return out;
}

const special = (id: number, content: string) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

function tokenizerJson(
  vocab: Record<string, number>,
  merges: string[],
  added: ReturnType<typeof special>[],
  useRegex: boolean,
): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Split `token` (bytes as latin1) with the merges ranked below `maxRank`: a real token ends in its 2 merged parts. */
function bpeParts(ranks: Map<string, number>, token: string, maxRank: number): string[] {
  let parts = [...token];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(parts[i]! + parts[i + 1]!);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0 || bestRank >= maxRank) return parts;
    parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
  }
}

function gpt2VocabAndMerges(): { vocab: Record<string, number>; merges: string[] } {
  // ~1 MB of ranks: loaded only when a gpt2-tokenizer model is exported.
  const require = createRequire(import.meta.url);
  const mod = require('gpt-tokenizer/cjs/bpeRanks/r50k_base') as
    { default?: (string | number[])[] } | (string | number[])[];
  const ranks = (Array.isArray(mod) ? mod : mod.default)!;
  const enc = new TextEncoder();
  const asLatin1 = (t: string | number[]) => String.fromCharCode(...(typeof t === 'string' ? enc.encode(t) : t));
  const tokens = ranks.map(asLatin1);
  const rankOf = new Map(tokens.map((t, i) => [t, i]));
  const u = byteToUnicode();
  const show = (latin1: string) => [...latin1].map((c) => u[c.charCodeAt(0)]).join('');
  const vocab: Record<string, number> = {};
  const merges: string[] = [];
  tokens.forEach((t, i) => {
    vocab[show(t)] = i;
    if (t.length < 2) return;
    const parts = bpeParts(rankOf, t, i);
    if (parts.length !== 2) throw new Error(`r50k_base token ${i} does not split into two ranked parts`);
    merges.push(`${show(parts[0]!)} ${show(parts[1]!)}`);
  });
  return { vocab, merges };
}

const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v, null, 2) + '\n');

export function exportTokenizerFiles(name: TokenizerName): { files: Record<string, Uint8Array>; notes: string[] } {
  if (name === 'byte') {
    const u = byteToUnicode();
    const vocab = Object.fromEntries(u.map((c, b) => [c, b]));
    return {
      files: {
        'tokenizer.json': json(
          tokenizerJson(vocab, [], [special(256, '<|endoftext|>'), special(257, '<|pad|>')], false),
        ),
        'tokenizer_config.json': json({
          tokenizer_class: 'PreTrainedTokenizerFast',
          bos_token: '<|endoftext|>',
          eos_token: '<|endoftext|>',
          pad_token: '<|pad|>',
          add_prefix_space: false,
          clean_up_tokenization_spaces: false,
          split_special_tokens: true,
        }),
      },
      notes: [
        'tokenizer: bpoflow byte tokenizer written as tokenizer.json (byte b = token b; 256 <|endoftext|>, 257 <|pad|>)',
      ],
    };
  }
  const { vocab, merges } = gpt2VocabAndMerges();
  return {
    files: {
      'tokenizer.json': json(
        tokenizerJson(vocab, merges, [{ ...special(50256, '<|endoftext|>'), normalized: true }], true),
      ),
      'tokenizer_config.json': json({
        tokenizer_class: 'PreTrainedTokenizerFast',
        bos_token: '<|endoftext|>',
        eos_token: '<|endoftext|>',
        unk_token: '<|endoftext|>',
        add_prefix_space: false,
        split_special_tokens: true,
      }),
    },
    notes: ['tokenizer: GPT-2 BPE (r50k_base) written as tokenizer.json'],
  };
}
