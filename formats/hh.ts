/**
 * Anthropic HH-RLHF transcripts: `\n\nHuman:` / `\n\nAssistant:` turns. A pair's prompt is the
 * shared prefix of its two transcripts up to and including the last `\n\nAssistant:`, the
 * responses are the remainders; the turns are kept as chat messages, so the model's chat
 * template renders the dialogue.
 */
import type { ChatMessage } from './records.js';

export const HH_HUMAN = '\n\nHuman:';
export const HH_ASSISTANT = '\n\nAssistant:';

/**
 * Split an HH-RLHF pair into prompt and responses: the prompt is the longest common prefix of the
 * two transcripts, cut back to end just after its last `\n\nAssistant:`.
 * Throws an Error (message = reason) when the pair is unusable.
 */
export function splitHH(chosen: string, rejected: string): { prompt: string; chosen: string; rejected: string } {
  for (const [name, t] of [
    ['chosen', chosen],
    ['rejected', rejected],
  ] as const) {
    if (!t.includes(HH_ASSISTANT)) throw new Error(`"${name}" has no "\\n\\nAssistant:" turn`);
    if (!t.includes(HH_HUMAN)) throw new Error(`"${name}" has no "\\n\\nHuman:" turn`);
  }
  if (chosen === rejected) throw new Error('"chosen" and "rejected" are identical');
  let n = 0;
  const max = Math.min(chosen.length, rejected.length);
  while (n < max && chosen.charCodeAt(n) === rejected.charCodeAt(n)) n++;
  const common = chosen.slice(0, n);
  const cut = common.lastIndexOf(HH_ASSISTANT);
  if (cut === -1) throw new Error('"chosen" and "rejected" share no prompt ending in "\\n\\nAssistant:"');
  const end = cut + HH_ASSISTANT.length;
  const prompt = chosen.slice(0, end);
  if (!prompt.includes(HH_HUMAN)) throw new Error('shared prompt has no "\\n\\nHuman:" turn');
  const c = chosen.slice(end);
  const r = rejected.slice(end);
  if (c.trim() === '') throw new Error('"chosen" has an empty response after the shared prompt');
  if (r.trim() === '') throw new Error('"rejected" has an empty response after the shared prompt');
  return { prompt, chosen: c, rejected: r };
}

/**
 * An HH pair as chat messages: the shared prompt's turns, then each side's assistant reply
 * (and any turns after it).
 */
export function hhPair(
  chosen: string,
  rejected: string,
): { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] } {
  const s = splitHH(chosen, rejected);
  const prompt = hhMessages(s.prompt, 'system');
  if (!prompt.some((m) => m.role === 'user')) throw new Error('shared prompt has no "\\n\\nHuman:" turn');
  return { prompt, chosen: hhMessages(s.chosen, 'assistant'), rejected: hhMessages(s.rejected, 'assistant') };
}

const HH_TURN = /(?:^|\n\n)(Human|Assistant):/g;

/**
 * An HH-RLHF transcript fragment as chat messages: `\n\nHuman:` turns are
 * user messages, `\n\nAssistant:` turns assistant messages, each content
 * trimmed. Text before the first marker is an assistant continuation when
 * `leading` says so (a response), else a system message. A trailing empty
 * `Assistant:` (the generation prompt) is dropped.
 */
export function hhMessages(
  text: string,
  leading: 'assistant' | 'system',
): { role: 'system' | 'user' | 'assistant'; content: string }[] {
  const segs: { role: 'system' | 'user' | 'assistant'; content: string; marked: boolean }[] = [];
  let role: 'system' | 'user' | 'assistant' = leading;
  let marked = false;
  let last = 0;
  for (const m of text.matchAll(HH_TURN)) {
    segs.push({ role, content: text.slice(last, m.index).trim(), marked });
    role = m[1] === 'Human' ? 'user' : 'assistant';
    marked = true;
    last = m.index + m[0].length;
  }
  segs.push({ role, content: text.slice(last).trim(), marked });
  return segs
    .filter((s, i) =>
      s.marked ? !(i === segs.length - 1 && s.role === 'assistant' && s.content === '') : s.content !== '',
    )
    .map(({ role: r, content }) => ({ role: r, content }));
}
