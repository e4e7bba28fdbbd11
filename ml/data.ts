// Turning (prompt, response) text into padded next-token batches. Loss masks
// select response tokens only: the model is never trained to predict the
// prompt or padding.
import { chatPromptResponse, hasChatTemplate, type ChatMessage } from './chat.js';
import { tokenizeParts } from './token-split.js';
import type { Tokenizer } from './tokenizer.js';

export interface EncodedSeq {
  ids: number[];
  /** ids[0..promptLen) are prompt; the rest is response (+EOS). */
  promptLen: number;
  /** Per token, 1 if it is a loss target (multi-turn chats: the assistant turns); default: ids[promptLen..]. */
  lossMask?: number[];
}

export interface Batch {
  B: number;
  T: number;
  /** [B, T] tokens fed to the model (sequence minus its last token). */
  inputIds: Int32Array;
  /** [B, T] the token each position must predict. */
  targets: Int32Array;
  /** [B, T] 1 where the target is a response token. */
  mask: Float32Array;
  /** Response tokens per row (the number of 1s in mask). */
  counts: number[];
}

/**
 * Tokenize prompt + response + EOS and fit it in maxLength tokens. When too
 * long, the prompt keeps its end (the part nearest the response) but never
 * less than half the budget; the response then loses its tail.
 */
export function encodeExample(
  tok: Tokenizer,
  prompt: string,
  response: string,
  maxLength: number,
  appendEos = true,
): EncodedSeq {
  // A model's own (HF) tokenizer sees prompt + response as one text, as it
  // will when sampling; byte and gpt2 keep tokenizing the parts apart.
  const [p, r] =
    tok.name === 'hf'
      ? (tokenizeParts(tok, [prompt, response]) as [number[], number[]])
      : [tok.tokenize(prompt), tok.tokenize(response)];
  if (appendEos) r.push(tok.eosId);
  return fitExample([...(tok.prefixIds ?? []), ...p], r, maxLength);
}

/** A prompt given as text or as a conversation (rendered with the model's chat template). */
export interface PromptItem {
  prompt: string;
  /** The prompt conversation; used instead of `prompt` when the tokenizer has a chat template. */
  messages?: ChatMessage[];
}

/**
 * Prompt + response as the model sees it: plain text gets the tokenizer's
 * prefix (BOS) and EOS; a conversation is rendered by the chat template,
 * which brings its own BOS and end-of-turn token. Without a chat template
 * (byte, gpt2) `prompt` is the text.
 */
export function encodeItem(tok: Tokenizer, item: PromptItem, response: string, maxLength: number): EncodedSeq {
  if (!item.messages || !hasChatTemplate(tok)) return encodeExample(tok, item.prompt, response, maxLength);
  const c = chatPromptResponse(tok, item.messages, response);
  const [p, r] = tokenizeParts(tok, [c.prompt, c.response]) as [number[], number[]];
  return fitExample(p, r, maxLength);
}

function fitExample(p: number[], r: number[], maxLength: number): EncodedSeq {
  if (p.length + r.length > maxLength) {
    const keepPrompt = Math.min(p.length, Math.max(maxLength - r.length, Math.floor(maxLength / 2)));
    p = p.slice(p.length - keepPrompt);
    r = r.slice(0, maxLength - keepPrompt);
  }
  if (r.length === 0) throw new Error('response is empty after truncation; increase maxLength');
  return { ids: [...p, ...r], promptLen: p.length };
}

/** Right-padded batch. Right padding needs no attention mask under causal attention. */
export function collate(seqs: EncodedSeq[], padId: number): Batch {
  const B = seqs.length;
  const T = Math.max(1, ...seqs.map((s) => s.ids.length - 1));
  const inputIds = new Int32Array(B * T).fill(padId);
  const targets = new Int32Array(B * T).fill(padId);
  const mask = new Float32Array(B * T);
  const counts: number[] = [];
  seqs.forEach((s, b) => {
    let n = 0;
    for (let t = 0; t < s.ids.length - 1; t++) {
      inputIds[b * T + t] = s.ids[t]!;
      targets[b * T + t] = s.ids[t + 1]!;
      // position t predicts token t+1; it is a response token iff t+1 ≥ promptLen
      if (s.lossMask ? s.lossMask[t + 1] === 1 : t + 1 >= s.promptLen) {
        mask[b * T + t] = 1;
        n++;
      }
    }
    counts.push(n);
  });
  return { B, T, inputIds, targets, mask, counts };
}
