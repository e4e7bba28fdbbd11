import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { newAjv } from '../../../spec/ajv.js';
import { defaultCatalogDir, loadCatalog } from '../../../spec/catalog.js';
import { testKindsDir } from '../../kinds/catalog.js';
import { packageRoot } from '../../../spec/package-root.js';
import { pipelineSchemaPath } from '../../../spec/pipeline-schema.js';
import { formatProblem, validateFiles } from '../../../spec/validate.js';
import { testCatalog } from './support.js';

const root = packageRoot();
const fixtures = join(root, 'test', 'fixtures', 'spec');
const examples = join(root, 'pipelines', 'examples');
const hhBench = join(root, 'pipelines', 'bench', 'hh');
const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(dir, f));

describe('validateFiles', () => {
  it('reports every problem of every file as file:line:col: message, in order', () => {
    const several = join(fixtures, 'invalid', 'several.yaml');
    const syntax = join(fixtures, 'invalid', 'syntax.yaml');
    const lines = validateFiles([syntax, several, join(fixtures, 'missing.yaml')], testCatalog()).map(formatProblem);
    assert.deepEqual(lines, [
      `${syntax}:8:11: YAML syntax error: Nested mappings are not allowed in compact mappings`,
      `${several}:12:46: steps[0].with: unknown argument "valeu" for test.noop@v1; did you mean "value"?`,
      `${several}:14:11: steps[1].uses: test.noop@v2: unknown version (known: v1)`,
      `${several}:15:19: steps[1].needs[1]: dependency cycle: train needs evaluate, evaluate needs train`,
      `${several}:18:25: steps[2].with.value: step "prep" (test.noop@v1) has no output "vale"; did you mean "value"?`,
      `${several}:23:14: steps[3].timeout: must be a duration such as 500ms, 30s, 5m, 2h or 1h30m`,
      `${join(fixtures, 'missing.yaml')}:1:1: file not found`,
    ]);
  });

  it('formats problems as file:line:col: message', () => {
    assert.equal(formatProblem({ file: 'a.yaml', line: 3, col: 7, message: 'bad' }), 'a.yaml:3:7: bad');
  });

  it('accepts the example pipelines, the HH benchmark and the test-kind fixtures', () => {
    const catalog = loadCatalog(defaultCatalogDir(), [testKindsDir()]);
    const files = [...yamlFiles(examples), ...yamlFiles(hhBench), ...yamlFiles(fixtures)];
    assert.ok(files.length >= 4);
    assert.deepEqual(validateFiles(files, catalog).map(formatProblem), []);
  });

  it('ships a schema that editors can use and that accepts the examples', () => {
    const validate = newAjv().compile(JSON.parse(readFileSync(pipelineSchemaPath(), 'utf8')));
    for (const file of [...yamlFiles(examples), ...yamlFiles(hhBench), ...yamlFiles(fixtures)]) {
      const text = readFileSync(file, 'utf8');
      if (file.startsWith(examples))
        assert.match(text, /^# yaml-language-server: \$schema=\.\.\/pipeline\.schema\.json$/m, file);
      assert.ok(validate(parse(text)), `${file}: ${JSON.stringify(validate.errors)}`);
    }
  });
});
