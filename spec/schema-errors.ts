import type { ErrorObject } from 'ajv';
import type { Finding } from './source-map.js';
import { hint } from './suggest.js';
import { at, type YamlPath } from './yaml-path.js';

export interface ErrorWording {
  /** What a mapping key is called here: "key" in the pipeline, "argument" in a step's `with`. */
  keyNoun: string;
  /** Appended to key messages, e.g. " for dataset.stats@v1". */
  owner?: string;
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'a boolean (true or false)',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

/** Keywords whose failure a schema's own `errorMessage` explains better than we can. */
const EXPLAINED_BY_ERROR_MESSAGE = new Set(['type', 'pattern', 'oneOf', 'anyOf', 'enum', 'const', 'format']);

/** Splits a JSON pointer, turning segments that index arrays into numbers. */
export function pointerToPath(pointer: string, data: unknown): YamlPath {
  const path: YamlPath = [];
  let node: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path.push(Number(seg));
      node = node[Number(seg)];
    } else {
      path.push(seg);
      node = (node as Record<string, unknown> | undefined)?.[seg];
    }
  }
  return path;
}

function show(v: unknown): string {
  return JSON.stringify(v);
}

/**
 * Rewrites Ajv errors as findings with YAML paths and messages a pipeline author can
 * act on. Branch errors of a failed oneOf/anyOf are dropped: they describe the schema's
 * internals, and the combinator's own message (from `errorMessage`) says what to do.
 */
export function schemaFindings(
  errors: ErrorObject[],
  data: unknown,
  basePath: YamlPath,
  wording: ErrorWording = { keyNoun: 'key' },
): Finding[] {
  const combinators = errors
    .filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
    .map((e) => `${e.schemaPath}/`);
  const out: Finding[] = [];
  const seen = new Set<string>();
  const owner = wording.owner ?? '';
  for (const e of errors) {
    if (combinators.some((c) => e.schemaPath.startsWith(c))) continue;
    if (e.keyword === 'if' || e.keyword === 'propertyNames' || e.keyword === '$ref') continue;
    const path = [...basePath, ...pointerToPath(e.instancePath, data)];
    const schema = (e.parentSchema ?? {}) as Record<string, unknown>;
    const custom =
      (e.keyword === 'pattern' && typeof schema.patternErrorMessage === 'string' && schema.patternErrorMessage) ||
      (EXPLAINED_BY_ERROR_MESSAGE.has(e.keyword) && typeof schema.errorMessage === 'string' && schema.errorMessage) ||
      undefined;
    let f: Finding;
    const propertyName = (e as { propertyName?: string }).propertyName;
    if (propertyName !== undefined) {
      // A key that breaks `propertyNames` (e.g. a param called "my param"): point at the key.
      f = {
        path: [...path, propertyName],
        key: true,
        message: at(path, `invalid name "${propertyName}": ${custom || e.message}`),
      };
    } else if (e.keyword === 'additionalProperties') {
      const name = String(e.params.additionalProperty);
      const known = Object.keys((schema.properties as object | undefined) ?? {});
      f = {
        path: [...path, name],
        key: true,
        message: at(path, `unknown ${wording.keyNoun} "${name}"${owner}${hint(name, known, 'allowed')}`),
      };
    } else if (e.keyword === 'required') {
      f = {
        path,
        key: true,
        message: at(path, `missing required ${wording.keyNoun} "${String(e.params.missingProperty)}"${owner}`),
      };
    } else {
      f = { path, message: at(path, custom || describe(e, path)) };
    }
    const id = `${f.path.join('\0')}\0${f.message}`;
    if (!seen.has(id)) {
      out.push(f);
      seen.add(id);
    }
  }
  return out;
}

function describe(e: ErrorObject, path: YamlPath): string {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type': {
      const types = ([] as string[]).concat(p.type as string | string[]);
      const wanted = types.map((t) => TYPE_NAMES[t] ?? t).join(' or ');
      if (path.length === 0) return `a pipeline file must be a YAML mapping (apiVersion, kind, metadata, steps, …)`;
      return `must be ${wanted}, not ${kindOf(e.data)}`;
    }
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map(show).join(', ')}, not ${show(e.data)}`;
    case 'const':
      return `must be ${show(p.allowedValue)}, not ${show(e.data)}`;
    case 'pattern':
      return `${show(e.data)} does not match the pattern ${String(p.pattern)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${String(p.comparison)} ${String(p.limit)}, not ${show(e.data)}`;
    case 'minItems':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} items`;
    case 'maxItems':
      return `must have at most ${String(p.limit)} items`;
    case 'minLength':
      return p.limit === 1 ? 'must not be empty' : `must be at least ${String(p.limit)} characters long`;
    case 'maxLength':
      return `must be at most ${String(p.limit)} characters long`;
    case 'minProperties':
      return p.limit === 1 ? 'must not be empty' : `must have at least ${String(p.limit)} entries`;
    case 'uniqueItems':
      return `must not list ${show((e.data as unknown[])[p.j as number])} twice`;
    default:
      return e.message ?? `fails ${e.keyword}`;
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${show(v)}`;
  return `${typeof v} ${show(v)}`;
}
