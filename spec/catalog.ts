import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { newAjv } from './ajv.js';
import { packageRoot } from './package-root.js';

export type OutputType = 'artifact' | 'number' | 'string' | 'boolean';

/**
 * What the compiler knows of a step kind: one `pipelines/steps/<kind>@<version>.json` file
 * (made from the kind's module, activities/kinds/, by `npm run catalog`).
 */
export interface CatalogEntry {
  kind: string;
  version: string;
  description: string;
  /** Default task queue; a step or the pipeline's `defaults` may override it. */
  queue: string;
  /** Set when the runtime may split the named argument across `shards` workers. */
  shardable?: { input: string };
  /** JSON Schema for the step's `with`. */
  args: Record<string, unknown>;
  outputs: Record<string, { type: OutputType; description?: string; report?: 'stats' | 'metric' }>;
  /** Where it was loaded from, for error messages. */
  file: string;
}

const KIND_FILE = /^([a-z][a-z0-9.-]*)@(v[0-9]+)\.json$/;

export class Catalog {
  private readonly byId = new Map<string, CatalogEntry>();
  private readonly validators = new Map<string, ValidateFunction>();
  // Filling in argument defaults makes `format: auto` and an omitted `format` the same plan (and cache key).
  private readonly ajv = newAjv({ useDefaults: true });

  constructor(kinds: CatalogEntry[]) {
    for (const k of kinds) this.byId.set(`${k.kind}@${k.version}`, k);
  }

  get(kind: string, version: string): CatalogEntry | undefined {
    return this.byId.get(`${kind}@${version}`);
  }

  /** Versions of a kind, oldest first (v2 before v10). */
  versionsOf(kind: string): string[] {
    return this.all()
      .filter((k) => k.kind === kind)
      .map((k) => k.version)
      .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  }

  kindNames(): string[] {
    return [...new Set(this.all().map((k) => k.kind))].sort();
  }

  all(): CatalogEntry[] {
    return [...this.byId.values()];
  }

  /** Compiled lazily: most pipelines use a handful of the catalog's kinds. */
  argsValidator(k: CatalogEntry): ValidateFunction {
    const id = `${k.kind}@${k.version}`;
    let v = this.validators.get(id);
    if (!v) {
      v = this.ajv.compile(k.args);
      this.validators.set(id, v);
    }
    return v;
  }
}

export function defaultCatalogDir(): string {
  return join(packageRoot(), 'pipelines', 'steps');
}

/**
 * Extra catalog directories named by the environment: `BPOFLOW_CATALOG_PATH` (colon-separated),
 * for kinds a worker loads from BPOFLOW_KIND_MODULES (activities/registry.ts).
 */
export function catalogDirsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.BPOFLOW_CATALOG_PATH ?? '')
    .split(':')
    .filter((d) => d.length > 0)
    .map((d) => resolve(d));
}

/**
 * Loads every `<kind>@<version>.json` in `dir` and `extraDirs`. A broken catalog file is
 * a deployment mistake, not a user error, so all of its defects are thrown at once.
 */
export function loadCatalog(dir: string = defaultCatalogDir(), extraDirs: string[] = []): Catalog {
  const errors: string[] = [];
  const kinds: CatalogEntry[] = [];
  const seen = new Map<string, string>();
  const ajv = newAjv();
  for (const d of [dir, ...extraDirs]) {
    let names: string[];
    try {
      names = readdirSync(d)
        .filter((n) => n.endsWith('.json'))
        .sort();
    } catch (e) {
      errors.push(`${d}: cannot read catalog directory: ${(e as Error).message}`);
      continue;
    }
    for (const name of names) {
      const file = join(d, name);
      const k = readKind(file, errors, ajv);
      if (!k) continue;
      const id = `${k.kind}@${k.version}`;
      const previous = seen.get(id);
      if (previous) {
        errors.push(`${file}: ${id} is already defined by ${previous}`);
        continue;
      }
      seen.set(id, file);
      kinds.push(k);
    }
  }
  if (errors.length > 0) throw new Error(`invalid step catalog:\n  ${errors.join('\n  ')}`);
  return new Catalog(kinds);
}

const OUTPUT_TYPES = new Set(['artifact', 'number', 'string', 'boolean']);

function readKind(file: string, errors: string[], ajv: ReturnType<typeof newAjv>): CatalogEntry | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    errors.push(`${file}: ${(e as Error).message}`);
    return undefined;
  }
  const before = errors.length;
  const bad = (msg: string) => errors.push(`${file}: ${msg}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    bad('must be a JSON object');
    return undefined;
  }
  const k = raw as Record<string, unknown>;
  const m = KIND_FILE.exec(basename(file));
  if (!m) bad('file name must be <kind>@v<N>.json');
  else if (k.kind !== m[1] || k.version !== m[2]) bad(`"kind"/"version" must match the file name (${m[1]}@${m[2]})`);
  for (const key of ['kind', 'version', 'description', 'queue'] as const) {
    if (typeof k[key] !== 'string' || k[key] === '') bad(`"${key}" must be a non-empty string`);
  }
  const args = k.args;
  if (typeof args !== 'object' || args === null || (args as { type?: unknown }).type !== 'object') {
    bad('"args" must be a JSON Schema with "type": "object"');
  } else {
    try {
      ajv.compile(args);
    } catch (e) {
      bad(`"args" is not a valid JSON Schema: ${(e as Error).message}`);
    }
  }
  const outputs = k.outputs;
  if (typeof outputs !== 'object' || outputs === null || Array.isArray(outputs)) {
    bad('"outputs" must be an object');
  } else {
    for (const [name, o] of Object.entries(outputs)) {
      if (!OUTPUT_TYPES.has((o as { type?: string })?.type ?? '')) {
        bad(`outputs.${name}.type must be one of artifact, number, string, boolean`);
      }
      const report = (o as { report?: unknown })?.report;
      if (report !== undefined && report !== 'stats' && report !== 'metric')
        bad(`outputs.${name}.report must be stats or metric`);
    }
  }
  if (k.shardable !== undefined) {
    const input = (k.shardable as { input?: unknown })?.input;
    const props = (args as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    if (typeof input !== 'string' || !(input in props)) bad('"shardable.input" must name one of the args');
  }
  const known = new Set([
    'kind',
    'version',
    'description',
    'queue',
    'shardable',
    'args',
    'outputs',
    '$schema',
    '$comment',
  ]);
  for (const key of Object.keys(k)) if (!known.has(key)) bad(`unknown key "${key}"`);
  if (errors.length > before) return undefined;
  return { ...(k as unknown as Omit<CatalogEntry, 'file'>), file };
}
