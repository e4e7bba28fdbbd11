// `npm run catalog`: writes the catalog files (`pipelines/steps/<kind>@<version>.json`, read
// by editors, `bpoflow validate` and the spec compiler) from the kind modules, and removes
// files no module makes. test/unit/activities/catalog.test.ts fails while they differ.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogFileName, catalogFileText } from '../activities/catalog-entry.js';
import { builtinKinds } from '../activities/registry.js';
import type { RegisteredKind } from '../activities/step-kind.js';
import { defaultCatalogDir } from '../spec/catalog.js';

const jsonFiles = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.json'));

/** What differs between `dir` and the files `kinds` make: one line per file. */
export function catalogDrift(kinds: readonly RegisteredKind[], dir: string): string[] {
  const made = new Map(kinds.map((k) => [catalogFileName(k), catalogFileText(k)]));
  const drift: string[] = [];
  for (const [name, text] of made) {
    let current: string | undefined;
    try {
      current = readFileSync(join(dir, name), 'utf8');
    } catch {
      current = undefined;
    }
    if (current === undefined) drift.push(`${name}: missing`);
    else if (current !== text) drift.push(`${name}: differs from its kind module`);
  }
  for (const name of jsonFiles(dir)) if (!made.has(name)) drift.push(`${name}: no kind module makes it`);
  return drift;
}

export function writeCatalog(kinds: readonly RegisteredKind[], dir: string): void {
  const made = new Set<string>();
  for (const k of kinds) {
    writeFileSync(join(dir, catalogFileName(k)), catalogFileText(k));
    made.add(catalogFileName(k));
  }
  for (const name of jsonFiles(dir)) if (!made.has(name)) rmSync(join(dir, name));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeCatalog(builtinKinds, defaultCatalogDir());
  console.log(`catalog: ${builtinKinds.length} kinds -> ${defaultCatalogDir()}`);
}
