import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { Plan } from './plan.js';

/**
 * sha256 of the plan's meaning. Called after local inputs become s3 URIs too, since
 * the hash identifies what runs, and a `local:` path is only a placeholder for that.
 */
export function hashPlan(plan: Plan): string {
  const { specHash: _ignored, ...rest } = plan;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}
