// A model folder's own tokenizer: tokenizer.json (byte-level BPE as in
// Llama 3 / Qwen2, SentencePiece-style BPE with byte fallback as in
// Llama 2 / TinyLlama / Mistral, …) run by @huggingface/tokenizers, with the
// special tokens and chat template of tokenizer_config.json,
// special_tokens_map.json and chat_template.jinja.
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import type { Tokenizer } from './tokenizer.js';

/** Files of a model folder that belong to the tokenizer (carried along with checkpoints). */
export const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
  'chat_template.json',
];

type Json = Record<string, unknown>;

function parseJson(files: Record<string, Uint8Array>, name: string): Json | undefined {
  const b = files[name];
  if (!b) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(b)) as Json;
  } catch (e) {
    throw new Error(`${name}: not valid JSON (${(e as Error).message})`);
  }
}

// A special token is written either as its text or as an AddedToken object {content, …}.
function tokenText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return undefined;
}

export interface ModelTokenIds {
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
}

export class HfTokenizer implements Tokenizer {
  readonly name = 'hf' as const;
  readonly vocabSize: number;
  readonly eosId: number;
  readonly padId: number;
  readonly bosId: number | undefined;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  /** The Jinja chat template, if the folder has one. */
  readonly chatTemplate: string | undefined;
  /** Ids the post-processor puts before a plain text (BOS for Llama and Mistral, none for Qwen2). */
  readonly prefixIds: number[];
  /** The source files, written back with every checkpoint. */
  readonly files: Record<string, Uint8Array>;
  private readonly impl: HfTokenizerImpl;

  constructor(files: Record<string, Uint8Array>, modelIds: ModelTokenIds = {}) {
    const tj = parseJson(files, 'tokenizer.json');
    if (!tj) throw new Error('model folder has no tokenizer.json');
    const cfg = parseJson(files, 'tokenizer_config.json') ?? {};
    const map = parseJson(files, 'special_tokens_map.json') ?? {};
    this.files = Object.fromEntries(TOKENIZER_FILES.filter((n) => files[n]).map((n) => [n, files[n]!]));
    this.impl = new HfTokenizerImpl(tj, cfg);
    const vocab = this.impl.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) maxId = Math.max(maxId, id);
    this.vocabSize = maxId + 1;

    const special = (key: 'bos_token' | 'eos_token' | 'pad_token'): { text?: string; id?: number } => {
      const text = tokenText(cfg[key]) ?? tokenText(map[key]);
      if (text === undefined) return {};
      const id = this.impl.token_to_id(text);
      if (id === undefined) throw new Error(`tokenizer_config.json: ${key} "${text}" is not in the vocabulary`);
      return { text, id };
    };
    const firstId = (v: number | number[] | null | undefined) => (Array.isArray(v) ? v[0] : (v ?? undefined));
    const bos = special('bos_token');
    const eos = special('eos_token');
    const pad = special('pad_token');
    this.bosToken =
      bos.text ?? (modelIds.bos_token_id != null ? this.impl.id_to_token(modelIds.bos_token_id) : undefined);
    this.bosId = bos.id ?? modelIds.bos_token_id ?? undefined;
    const eosId = eos.id ?? firstId(modelIds.eos_token_id);
    if (eosId === undefined)
      throw new Error('tokenizer has no eos_token (tokenizer_config.json) and config.json has no eos_token_id');
    this.eosId = eosId;
    this.eosToken = eos.text ?? this.impl.id_to_token(eosId);
    // Padding always sits under a zero mask; EOS is the usual stand-in.
    this.padId = pad.id ?? modelIds.pad_token_id ?? eosId;

    const jinja = files['chat_template.jinja'];
    const ctJson = parseJson(files, 'chat_template.json');
    const fromCfg = cfg.chat_template;
    this.chatTemplate = jinja
      ? new TextDecoder().decode(jinja)
      : typeof ctJson?.chat_template === 'string'
        ? ctJson.chat_template
        : typeof fromCfg === 'string'
          ? fromCfg
          : // A list of named templates: the default one.
            Array.isArray(fromCfg)
            ? ((fromCfg.find((t: Json) => t.name === 'default') as Json | undefined)?.template as string | undefined)
            : undefined;
    this.prefixIds = this.impl.encode('', { add_special_tokens: true }).ids;
  }

  /** Text → ids without the post-processor's BOS/EOS; special tokens in the text are recognised (like transformers). */
  tokenize(text: string): number[] {
    return this.impl.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text → ids as `tokenizer(text)` gives them (with BOS etc.). */
  encode(text: string): number[] {
    return this.impl.encode(text, { add_special_tokens: true }).ids;
  }

  detokenize(ids: ArrayLike<number>): string {
    return this.impl.decode(Array.from(ids), { skip_special_tokens: true });
  }

  tokenToId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }
}

/** The tokenizer of a model folder's files, or undefined when it has no tokenizer.json. */
export function tokenizerFromFiles(
  files: Record<string, Uint8Array>,
  modelIds: ModelTokenIds = {},
): HfTokenizer | undefined {
  return files['tokenizer.json'] ? new HfTokenizer(files, modelIds) : undefined;
}
