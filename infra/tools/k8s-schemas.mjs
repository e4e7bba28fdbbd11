#!/usr/bin/env node
// Converts Kubernetes' OpenAPI v2 document (api/openapi-spec/swagger.json, from
// the k8s.io/kubernetes Go module) into the standalone-strict JSON schemas
// kubeconform reads, one file per kind, named as kubeconform's
// `{{ .ResourceKind }}{{ .KindSuffix }}.json` template expects
// (deployment-apps-v1.json, configmap-v1.json, ...). It does what yannh's
// kubernetes-json-schema generator does: strict (additionalProperties: false
// on every object with properties), int-or-string as string|integer, Quantity
// as string|number; each file carries only the definitions its kind reaches.
//   node infra/tools/k8s-schemas.mjs <swagger.json> <out-dir>
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [swaggerPath, outDir] = process.argv.slice(2);
if (!swaggerPath || !outDir) {
  console.error('usage: k8s-schemas.mjs <swagger.json> <out-dir>');
  process.exit(2);
}
const swagger = JSON.parse(readFileSync(swaggerPath, 'utf8'));
const defs = swagger.definitions;

function fix(node) {
  if (Array.isArray(node)) return node.map(fix);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) out[k] = fix(v);
  if (out.format === 'int-or-string') {
    delete out.type;
    delete out.format;
    out.oneOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}

const fixed = {};
for (const [name, def] of Object.entries(defs)) fixed[name] = fix(def);
const quantity = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
if (fixed[quantity])
  fixed[quantity] = { description: fixed[quantity].description, oneOf: [{ type: 'string' }, { type: 'number' }] };

function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const walk = (n) => {
    if (Array.isArray(n)) return n.forEach(walk);
    if (!n || typeof n !== 'object') return;
    if (typeof n.$ref === 'string') closure(n.$ref.replace('#/definitions/', ''), seen);
    Object.values(n).forEach(walk);
  };
  walk(fixed[name]);
  return seen;
}

mkdirSync(outDir, { recursive: true });
let written = 0;
for (const [name, def] of Object.entries(fixed)) {
  const gvks = def['x-kubernetes-group-version-kind'];
  if (!Array.isArray(gvks) || gvks.length !== 1) continue;
  const { group, version, kind } = gvks[0];
  const suffix = (group ? `-${group.split('.')[0]}` : '') + `-${version}`;
  const definitions = {};
  for (const d of closure(name)) if (d !== name) definitions[d] = fixed[d];
  const schema = { $schema: 'http://json-schema.org/schema#', ...def, definitions };
  // apiVersion/kind must name this kind exactly.
  const apiVersion = group ? `${group}/${version}` : version;
  if (schema.properties?.apiVersion)
    schema.properties.apiVersion = { ...schema.properties.apiVersion, enum: [apiVersion] };
  if (schema.properties?.kind) schema.properties.kind = { ...schema.properties.kind, enum: [kind] };
  writeFileSync(join(outDir, `${kind.toLowerCase()}${suffix}.json`), JSON.stringify(schema));
  written++;
}
console.error(`[k8s-schemas] ${written} kind schemas -> ${outDir}`);
