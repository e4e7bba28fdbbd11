// An LLM judge behind an OpenAI-compatible endpoint: asks for an integer
// score 0..maxScore per (prompt, response) and normalizes it to [0, 1].
import { chatCompletions, type ChatEndpoint } from '../generators/openai.js';

export const DEFAULT_RUBRIC = 'Judge how correct and helpful the response is for the prompt.';
/** The top of the judge's scale when the spec names none. */
export const DEFAULT_MAX_SCORE = 10;

export interface JudgeSpec extends ChatEndpoint {
  rubric?: string;
  maxScore?: number;
}

export function judgeMessages(
  spec: JudgeSpec,
  prompt: string,
  response: string,
): { role: 'system' | 'user'; content: string }[] {
  const max = spec.maxScore ?? DEFAULT_MAX_SCORE;
  return [
    {
      role: 'system',
      content: `You are a strict grader. ${spec.rubric ?? DEFAULT_RUBRIC} Reply with only an integer from 0 to ${max}.`,
    },
    { role: 'user', content: `Prompt:\n${prompt}\n\nResponse:\n${response}\n\nScore (0-${max}):` },
  ];
}

/** The first number in the judge's reply, clamped and scaled to [0, 1]; undefined if there is none. */
export function parseJudgeScore(reply: string, maxScore = DEFAULT_MAX_SCORE): number | undefined {
  const m = /-?\d+(?:\.\d+)?/.exec(reply);
  if (!m) return undefined;
  const v = Number(m[0]);
  if (!Number.isFinite(v)) return undefined;
  return Math.min(maxScore, Math.max(0, v)) / maxScore;
}

export async function judgeScore(
  spec: JudgeSpec,
  prompt: string,
  response: string,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const [reply] = await chatCompletions(
    spec,
    { messages: judgeMessages(spec, prompt, response), temperature: 0, max_tokens: 8, n: 1 },
    signal,
  );
  return parseJudgeScore(reply ?? '', spec.maxScore ?? DEFAULT_MAX_SCORE);
}
