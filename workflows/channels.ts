// `channel://<name>` in a step's arguments means "the channel's latest model";
// the run pins it once, at its start. Pure helpers; the lookup is an activity.
import type { Plan, PlanValue } from '../spec/plan.js';

export const CHANNEL_PREFIX = 'channel://';

function collect(value: PlanValue, into: Set<string>): void {
  if (typeof value === 'string' && value.startsWith(CHANNEL_PREFIX)) into.add(value.slice(CHANNEL_PREFIX.length));
  else if (Array.isArray(value)) value.forEach((v) => collect(v, into));
  else if (value && typeof value === 'object' && !('$expr' in value))
    Object.values(value).forEach((v) => collect(v as PlanValue, into));
}

export function channelNames(plan: Plan): string[] {
  const names = new Set<string>();
  for (const step of plan.steps) collect(step.with, names);
  return [...names].sort();
}

function substitute(value: PlanValue, resolved: Record<string, string>): PlanValue {
  if (typeof value === 'string' && value.startsWith(CHANNEL_PREFIX))
    return resolved[value.slice(CHANNEL_PREFIX.length)] ?? value;
  if (Array.isArray(value)) return value.map((v) => substitute(v, resolved));
  if (value && typeof value === 'object' && !('$expr' in value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v as PlanValue, resolved)]));
  }
  return value;
}

export function withChannels(plan: Plan, resolved: Record<string, string>): Plan {
  return {
    ...plan,
    steps: plan.steps.map((s) => ({ ...s, with: substitute(s.with, resolved) as Record<string, PlanValue> })),
  };
}
