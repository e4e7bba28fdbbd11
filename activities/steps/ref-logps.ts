// Reference log-probs for bpo.train, computed only for the pairs training will
// read and cached as an artifact keyed by the content hashes of the reference
// model and the data (and the token budget): a retry, or another run with the
// same reference and data, computes only the pairs the cache lacks.
//
// The cache holds the pairs it has, sparse: {pairs, maxLength, index[], chosen[],
// rejected[], chosenTokens[], rejectedTokens[]} with entry k belonging to pair
// index[k]. Values are computed in batches of 8 in order of first use, so a run
// that finds them cached trains on exactly the numbers the first run used.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../spec/canonical-json.js';
import type { CausalLM, RefLogps } from '../../ml/index.js';
import type { StepContext } from '../step-kind.js';
import { chunkedLogProbs, producerOf, type PairText } from './common.js';

export interface RefLogpsCache {
  pairs: number;
  maxLength: number;
  index: number[];
  chosen: number[];
  rejected: number[];
  chosenTokens: number[];
  rejectedTokens: number[];
}

export interface ReferenceLogps {
  refLogps: RefLogps;
  uri: string;
  /** Pairs whose log-probs this call computed (two sequences each); the rest came from the cache. */
  computedPairs: number;
  reusedPairs: number;
}

const FORMAT = 1;

export async function referenceLogps(
  ctx: StepContext,
  opts: {
    model: CausalLM;
    modelUri: string;
    dataUri: string;
    format: string;
    pairs: PairText[];
    needed: number[];
    maxLength: number;
  },
): Promise<ReferenceLogps> {
  const { store } = ctx;
  const N = opts.pairs.length;
  const key = createHash('sha256')
    .update(
      canonicalJson({
        format: FORMAT,
        model: await store.digestOf(opts.modelUri),
        data: await store.digestOf(opts.dataUri),
        dataFormat: opts.format,
        maxLength: opts.maxLength,
        pairs: N,
      }),
    )
    .digest('hex');
  const uri = `s3://${store.bucket}/cache/ref-logps/${key}.json`;
  const read = async (): Promise<RefLogpsCache> =>
    (await store.exists(uri))
      ? store.readJson<RefLogpsCache>(uri)
      : {
          pairs: N,
          maxLength: opts.maxLength,
          index: [],
          chosen: [],
          rejected: [],
          chosenTokens: [],
          rejectedTokens: [],
        };
  let cache = await read();
  const have = new Set(cache.index);
  const missing = opts.needed.filter((i) => !have.has(i));
  if (missing.length) {
    ctx.progress({ message: 'computing reference log-probs', done: 0, total: 2 * missing.length, unit: 'sequences' });
    const lp = { batchSize: 8, maxLength: opts.maxLength };
    const c = await chunkedLogProbs(
      ctx,
      opts.model,
      missing.map((i) => ({
        prompt: opts.pairs[i]!.prompt,
        messages: opts.pairs[i]!.messages,
        response: opts.pairs[i]!.chosen,
      })),
      { ...lp, label: 'reference log-probs (chosen)' },
    );
    const r = await chunkedLogProbs(
      ctx,
      opts.model,
      missing.map((i) => ({
        prompt: opts.pairs[i]!.prompt,
        messages: opts.pairs[i]!.messages,
        response: opts.pairs[i]!.rejected,
      })),
      { ...lp, label: 'reference log-probs (rejected)' },
    );
    // Another run may have filled the cache meanwhile: its entries win, so every run that
    // reads this cache from now on trains on the same numbers.
    cache = await read();
    const present = new Set(cache.index);
    missing.forEach((i, k) => {
      if (present.has(i)) return;
      cache.index.push(i);
      cache.chosen.push(c.sum[k]!);
      cache.rejected.push(r.sum[k]!);
      cache.chosenTokens.push(c.tokens[k]!);
      cache.rejectedTokens.push(r.tokens[k]!);
    });
    await store.putJson(uri, cache, {
      kind: 'other',
      producer: producerOf(ctx),
      inputs: [opts.dataUri, opts.modelUri],
      attributes: { pairs: N, cached: cache.index.length, maxLength: opts.maxLength },
    });
  }
  const refLogps: RefLogps = {
    chosen: new Array(N).fill(NaN),
    rejected: new Array(N).fill(NaN),
    chosenTokens: new Array(N).fill(0),
    rejectedTokens: new Array(N).fill(0),
  };
  cache.index.forEach((i, k) => {
    refLogps.chosen[i] = cache.chosen[k]!;
    refLogps.rejected[i] = cache.rejected[k]!;
    refLogps.chosenTokens[i] = cache.chosenTokens[k]!;
    refLogps.rejectedTokens[i] = cache.rejectedTokens[k]!;
  });
  const reusedPairs = opts.needed.length - missing.length;
  ctx.log.info('reference log-probs', {
    uri,
    neededPairs: opts.needed.length,
    computedPairs: missing.length,
    computedSequences: 2 * missing.length,
    reusedPairs,
    datasetPairs: N,
  });
  return { refLogps, uri, computedPairs: missing.length, reusedPairs };
}
