// Response generators for bpo.augment: the policy itself (a bpoflow model
// artifact, sampled on the worker) or any OpenAI-compatible endpoint.
import { generate, tokenizerOf, Rng, selectBackend, type CausalLM } from '../../ml/index.js';
import type { ArtifactStore } from '../../store/artifacts.js';
import { loadModelArtifact } from '../steps/model-io.js';
import { BadInput } from '../step-kind.js';
import { sampleChat } from './openai.js';

export interface SamplingOptions {
  temperature: number;
  topK: number;
  topP: number;
  maxNewTokens: number;
  stop: string[];
}

export type GeneratorSpec =
  | ({ type: 'policy'; model: string } & SamplingOptions)
  | ({ type: 'openai'; url: string; model: string; apiKeyEnv?: string; concurrency: number } & SamplingOptions);

/** What a generator spec leaves out (bpo.augment's schema quotes these in its descriptions). */
export const GENERATOR_DEFAULTS = {
  temperature: 1,
  topK: 0,
  topP: 1,
  maxNewTokens: 32,
  stop: [] as string[],
  concurrency: 4,
};

/** A generator spec, its types already checked by bpo.augment's argument schema; defaults filled in. */
export function parseGeneratorSpec(v: unknown): GeneratorSpec {
  const o = (v ?? {}) as Partial<SamplingOptions> & Record<string, unknown>;
  const d = GENERATOR_DEFAULTS;
  const sampling: SamplingOptions = {
    temperature: o.temperature ?? d.temperature,
    topK: o.topK ?? d.topK,
    topP: o.topP ?? d.topP,
    maxNewTokens: o.maxNewTokens ?? d.maxNewTokens,
    stop: o.stop ?? d.stop,
  };
  if (o.type === 'policy') {
    if (typeof o.model !== 'string') throw new BadInput('generator.model must be a model URI');
    return { type: 'policy', model: o.model, ...sampling };
  }
  if (o.type === 'openai') {
    if (typeof o.url !== 'string' || typeof o.model !== 'string')
      throw new BadInput('an openai generator needs url and model');
    return {
      type: 'openai',
      url: o.url,
      model: o.model,
      apiKeyEnv: typeof o.apiKeyEnv === 'string' ? o.apiKeyEnv : undefined,
      concurrency: typeof o.concurrency === 'number' ? o.concurrency : d.concurrency,
      ...sampling,
    };
  }
  throw new BadInput(`generator.type must be policy or openai, got ${JSON.stringify(o.type)}`);
}

/** Opened once per step; `sample` gives n responses for the prompt at a global index (seeded by it: shards agree). */
export interface Sampler {
  sample(prompt: string, globalIndex: number, n: number): Promise<string[]>;
  /** Tokens generated so far (policy only). */
  tokens: number;
  close(): void;
}

export async function openSampler(
  spec: GeneratorSpec,
  opts: { store: ArtifactStore; seed: number; signal?: AbortSignal },
): Promise<Sampler> {
  if (spec.type === 'policy') {
    await selectBackend();
    const { model } = await loadModelArtifact(opts.store, spec.model);
    return policySampler(model, spec, opts.seed);
  }
  const s: Sampler = {
    tokens: 0,
    sample: (prompt, globalIndex, n) =>
      sampleChat(
        spec,
        prompt,
        n,
        {
          temperature: spec.temperature,
          top_p: spec.topP,
          max_tokens: spec.maxNewTokens,
          seed: Rng.derive(opts.seed, globalIndex).nextU32() >>> 1,
          ...(spec.stop.length ? { stop: spec.stop } : {}),
        },
        opts.signal,
      ),
    close: () => undefined,
  };
  return s;
}

export function policySampler(model: CausalLM, spec: SamplingOptions, seed: number): Sampler {
  const tok = tokenizerOf(model);
  const s: Sampler = {
    tokens: 0,
    async sample(prompt, globalIndex, n) {
      const texts = generate(model, tok, new Array(n).fill(prompt), {
        temperature: spec.temperature,
        topK: spec.topK,
        topP: spec.topP,
        maxNewTokens: spec.maxNewTokens,
        stop: spec.stop,
        seed: Rng.derive(seed, globalIndex).nextU32(),
      });
      s.tokens += texts.reduce((a, t) => a + tok.tokenize(t).length, 0);
      return texts;
    },
    close: () => model.dispose(),
  };
  return s;
}
