// Readable run ids and the search attributes that let the Temporal UI and
// `temporal workflow list --query` find runs by pipeline and spec.
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { Plan } from '../spec/plan.js';

export const PIPELINE_ATTR = defineSearchAttributeKey('BpoflowPipeline', SearchAttributeType.KEYWORD);
export const SPEC_HASH_ATTR = defineSearchAttributeKey('BpoflowSpecHash', SearchAttributeType.KEYWORD);

/** `<pipeline-name>-<UTC timestamp>-<short hash>`; `attempt` disambiguates two submissions in the same second. */
export function runIdFor(plan: Plan, now: Date, attempt = 0): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const short = plan.specHash.slice(0, 8);
  return `${plan.name}-${stamp}-${short}${attempt ? `-${attempt}` : ''}`;
}

export function pipelineSearchAttributes(plan: Plan): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: PIPELINE_ATTR, value: plan.name },
    { key: SPEC_HASH_ATTR, value: plan.specHash },
  ]);
}
