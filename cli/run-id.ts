// Readable run ids and the search attributes that let the Temporal UI and
// `temporal workflow list --query` find runs by pipeline and spec.
import { randomBytes } from 'node:crypto';
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { Plan } from '../spec/plan.js';

export const PIPELINE_ATTR = defineSearchAttributeKey('BpoflowPipeline', SearchAttributeType.KEYWORD);
export const SPEC_HASH_ATTR = defineSearchAttributeKey('BpoflowSpecHash', SearchAttributeType.KEYWORD);

// Lowercase base32 without look-alikes (no 0/1/i/l/o/u): safe in URLs, S3 keys and file names.
const ALPHABET = 'abcdefghjkmnpqrstvwxyz23456789';

/** `n` random characters: 8 give ~39 bits, so two ids collide about once in 10^11 pairs. */
export function randomTag(n = 8): string {
  const bytes = randomBytes(n);
  let s = '';
  for (const b of bytes) s += ALPHABET[b % ALPHABET.length];
  return s;
}

/**
 * `<pipeline-name>-<UTC timestamp>-<short spec hash>-<random tag>`, e.g.
 * `quickstart-20261201T180537Z-1f2e3d4c-k7mq2xza`. Sorts by time within a pipeline,
 * has no colons (safe as an S3 key segment and a file name), and stays unique however
 * many runs start in the same second: the tag is random, not a counter.
 */
export function runIdFor(plan: Plan, now: Date, tag = randomTag()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const short = plan.specHash.slice(0, 8);
  return `${plan.name}-${stamp}-${short}-${tag}`;
}

export function pipelineSearchAttributes(plan: Plan): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: PIPELINE_ATTR, value: plan.name },
    { key: SPEC_HASH_ATTR, value: plan.specHash },
  ]);
}
