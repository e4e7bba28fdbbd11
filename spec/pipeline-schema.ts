import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { newAjv } from './ajv.js';
import { packageRoot } from './package-root.js';
import { schemaFindings } from './schema-errors.js';
import type { Finding } from './source-map.js';

export function pipelineSchemaPath(): string {
  return join(packageRoot(), 'pipelines', 'pipeline.schema.json');
}

let validator: ValidateFunction | undefined;

/** The same schema editors use through `# yaml-language-server: $schema=...`, so editor and CLI agree. */
export function checkPipelineSchema(data: unknown): Finding[] {
  validator ??= newAjv().compile(JSON.parse(readFileSync(pipelineSchemaPath(), 'utf8')));
  return validator(data) ? [] : schemaFindings(validator.errors ?? [], data, []);
}
