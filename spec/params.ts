import type { Finding } from './source-map.js';
import { hint } from './suggest.js';
import { at } from './yaml-path.js';

export type ParamType = 'string' | 'number' | 'integer' | 'boolean';
export type ParamValue = string | number | boolean;

export interface ParamDef {
  type: ParamType;
  default?: ParamValue;
  description?: string;
  enum?: ParamValue[];
  minimum?: number;
  maximum?: number;
}

export interface ParamSources {
  /** From a params file (YAML/JSON): already typed. */
  paramsFile?: Record<string, unknown>;
  /** From `--set k=v`: strings are converted to the param's type. */
  overrides?: Record<string, string | number | boolean>;
  /** When false (`bpoflow validate`), a param without default or value is not an error. */
  requireAll?: boolean;
}

const PARAM_TYPES = new Set(['string', 'number', 'integer', 'boolean']);

/** The well-formed param definitions; malformed ones were already reported by the schema. */
export function paramDefs(raw: unknown): Map<string, ParamDef> {
  const defs = new Map<string, ParamDef>();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return defs;
  for (const [name, d] of Object.entries(raw)) {
    if (typeof d === 'object' && d !== null && PARAM_TYPES.has((d as ParamDef).type)) defs.set(name, d as ParamDef);
  }
  return defs;
}

/** Why `value` is not acceptable for `def`, or undefined when it is. */
export function paramValueProblem(def: ParamDef, value: unknown): string | undefined {
  const ok =
    def.type === 'integer'
      ? Number.isInteger(value)
      : def.type === 'number'
        ? typeof value === 'number' && Number.isFinite(value)
        : typeof value === def.type;
  if (!ok) return `must be ${def.type === 'integer' ? 'an integer' : `a ${def.type}`}, not ${JSON.stringify(value)}`;
  if (def.enum && !def.enum.includes(value as ParamValue)) {
    return `must be one of ${def.enum.map((v) => JSON.stringify(v)).join(', ')}, not ${JSON.stringify(value)}`;
  }
  if (typeof value === 'number' && def.minimum !== undefined && value < def.minimum)
    return `must be >= ${def.minimum}, not ${value}`;
  if (typeof value === 'number' && def.maximum !== undefined && value > def.maximum)
    return `must be <= ${def.maximum}, not ${value}`;
  return undefined;
}

/** `--set` gives text; turn it into the param's type, leaving it as is when impossible (the check then explains). */
export function coerceParam(def: ParamDef, value: string | number | boolean): unknown {
  if (typeof value !== 'string') return value;
  if (def.type === 'number' || def.type === 'integer') {
    const n = value.trim() === '' ? NaN : Number(value);
    return Number.isNaN(n) ? value : n;
  }
  if (def.type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

/**
 * Resolves every param: default < params file < --set. Problems about the file's own
 * definitions point at them; problems about submitted values point at the param they
 * target (or at `params:` when the name is unknown) and quote what the user typed.
 */
export function resolveParams(
  defs: Map<string, ParamDef>,
  sources: ParamSources,
): { values: Record<string, ParamValue>; findings: Finding[] } {
  const findings: Finding[] = [];
  const values: Record<string, ParamValue> = {};
  const names = [...defs.keys()];
  // A param given a bad value is reported for that value, not again as missing.
  const supplied = new Set<string>();
  for (const [name, def] of defs) {
    if (def.default === undefined) continue;
    const why = paramValueProblem(def, def.default);
    // A default of the wrong type was reported by the schema already.
    if (why && !paramValueProblem({ type: def.type }, def.default)) {
      findings.push({ path: ['params', name, 'default'], message: at(['params', name, 'default'], why) });
    }
    if (!why) values[name] = def.default;
  }
  const apply = (label: (name: string, v: unknown) => string, entries: [string, unknown][], coerce: boolean) => {
    for (const [name, v] of entries) {
      const def = defs.get(name);
      if (!def) {
        const known = names.length === 0 ? ' (this pipeline declares no params)' : hint(name, names);
        findings.push({ path: ['params'], key: true, message: `${label(name, v)}: unknown param "${name}"${known}` });
        continue;
      }
      supplied.add(name);
      const value = coerce ? coerceParam(def, v as string | number | boolean) : v;
      const why = paramValueProblem(def, value);
      if (why)
        findings.push({ path: ['params', name], key: true, message: `${label(name, v)}: param "${name}" ${why}` });
      else values[name] = value as ParamValue;
    }
  };
  apply((n) => `params file: ${n}`, Object.entries(sources.paramsFile ?? {}), false);
  apply((n, v) => `--set ${n}=${String(v)}`, Object.entries(sources.overrides ?? {}), true);
  if (sources.requireAll !== false) {
    for (const name of names) {
      if (!(name in values) && !supplied.has(name) && defs.get(name)!.default === undefined) {
        findings.push({
          path: ['params', name],
          key: true,
          message: `param "${name}" has no default; set it with --set ${name}=<value>`,
        });
      }
    }
  }
  return { values, findings };
}
