// Conversations rendered with the model's own chat template (Jinja, through
// @huggingface/jinja, with transformers' variables), and tokenized so that
// the loss covers the assistant turns only.
import { Template } from '@huggingface/jinja';
import type { EncodedSeq } from './data.js';
import { tokenizeParts } from './token-split.js';
import type { Tokenizer } from './tokenizer.js';

export interface ChatMessage {
  role: string;
  content: string;
}

/** What a tokenizer needs to render chats (HfTokenizer provides it). */
export interface ChatTokenizer extends Tokenizer {
  readonly chatTemplate: string | undefined;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
}

export function hasChatTemplate(tok: Tokenizer): tok is ChatTokenizer {
  return typeof (tok as Partial<ChatTokenizer>).chatTemplate === 'string';
}

const compiled = new Map<string, Template>();

/** apply_chat_template(messages, tokenize=False, add_generation_prompt=…). */
export function renderChat(
  tok: ChatTokenizer,
  messages: ChatMessage[],
  opts: { addGenerationPrompt?: boolean } = {},
): string {
  const src = tok.chatTemplate;
  if (src === undefined)
    throw new Error(
      'the model has no chat_template (tokenizer_config.json or chat_template.jinja); give prompt/response text instead of messages',
    );
  let t = compiled.get(src);
  if (!t) {
    t = new Template(src);
    compiled.set(src, t);
  }
  return t.render({
    messages,
    add_generation_prompt: opts.addGenerationPrompt ?? false,
    bos_token: tok.bosToken ?? '',
    eos_token: tok.eosToken ?? '',
  });
}

function requireChat(tok: Tokenizer): ChatTokenizer {
  if (!hasChatTemplate(tok))
    throw new Error(`conversations need a tokenizer with a chat_template; tokenizer "${tok.name}" has none`);
  return tok;
}

/**
 * The rendered conversation cut into pieces, each marked assistant (trained
 * on) or not. Assistant message i's piece is what rendering messages[0..i]
 * adds to rendering messages[0..i) with the generation prompt, so the
 * generation prompt itself ("<|im_start|>assistant\n") is context and the
 * turn's end token (EOS, <|im_end|>, <|eot_id|>) is trained on.
 */
export function chatPieces(tok: Tokenizer, messages: ChatMessage[]): { text: string; assistant: boolean }[] {
  const t = requireChat(tok);
  const pieces: { text: string; assistant: boolean }[] = [];
  let emitted = '';
  const take = (full: string, assistant: boolean, what: string) => {
    if (!full.startsWith(emitted))
      throw new Error(
        `chat template is not prefix-stable at ${what}: rendering fewer messages is not a prefix of rendering more, so assistant turns can't be located`,
      );
    if (full.length > emitted.length) pieces.push({ text: full.slice(emitted.length), assistant });
    emitted = full;
  };
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    take(renderChat(t, messages.slice(0, i), { addGenerationPrompt: true }), false, `message ${i + 1}`);
    take(renderChat(t, messages.slice(0, i + 1)), true, `message ${i + 1}`);
  });
  take(renderChat(t, messages), false, 'the end');
  return pieces;
}

/**
 * SFT encoding of a conversation: template-rendered tokens with a loss mask
 * over the assistant turns. Over-long conversations keep their start.
 */
export function encodeConversation(tok: Tokenizer, messages: ChatMessage[], maxLength: number): EncodedSeq {
  if (!messages.some((m) => m.role === 'assistant'))
    throw new Error('conversation has no assistant message to train on');
  const pieces = chatPieces(tok, messages);
  const ids: number[] = [];
  const lossMask: number[] = [];
  tokenizeParts(
    tok,
    pieces.map((p) => p.text),
  ).forEach((t, i) => {
    ids.push(...t);
    lossMask.push(...t.map(() => (pieces[i]!.assistant ? 1 : 0)));
  });
  const cut = Math.min(ids.length, maxLength);
  const first = lossMask.indexOf(1);
  if (first < 0 || first >= cut) throw new Error('no assistant token left after truncation; increase maxLength');
  return { ids: ids.slice(0, cut), promptLen: first, lossMask: lossMask.slice(0, cut) };
}

/**
 * A prompt conversation plus one reply as (prompt, response) text, both
 * template-rendered: prompt ends with the generation prompt, response
 * carries the turn's end token. For DPO and log-probs of conversations.
 */
export function chatPromptResponse(
  tok: Tokenizer,
  messages: ChatMessage[],
  reply: string,
): { prompt: string; response: string } {
  const t = requireChat(tok);
  const prompt = renderChat(t, messages, { addGenerationPrompt: true });
  const full = renderChat(t, [...messages, { role: 'assistant', content: reply }]);
  if (!full.startsWith(prompt))
    throw new Error('chat template is not prefix-stable: the prompt rendering is not a prefix of prompt + reply');
  return { prompt, response: full.slice(prompt.length) };
}
