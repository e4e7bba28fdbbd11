// The catalog files are made from the kind modules, and the worker serves exactly the
// catalog's kinds: a kind added, removed or edited in one place only fails here.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { builtinKinds, registeredKinds } from '../../../activities/registry.js';
import { kindArgs } from '../../../activities/kind-args.js';
import { catalogDrift } from '../../../cli/write-catalog.js';
import { defaultCatalogDir, loadCatalog } from '../../../spec/catalog.js';
import { modelSft } from '../../../activities/kinds/model-sft.js';
import { testCatalogs } from '../../kinds/catalog.js';
import { kinds as testKinds } from '../../kinds/index.js';

describe('step catalog', () => {
  it('is what the kind modules make (run `npm run catalog` after editing a kind)', () => {
    assert.deepEqual(catalogDrift(builtinKinds, defaultCatalogDir()), []);
    for (const { dir, kinds } of testCatalogs()) assert.deepEqual(catalogDrift(kinds, dir), [], dir);
  });

  it('names every kind the worker serves, and the worker serves every kind it names', () => {
    const catalog = loadCatalog(defaultCatalogDir())
      .all()
      .map((k) => `${k.kind}@${k.version}`)
      .sort();
    // The test kinds come from BPOFLOW_KIND_MODULES (test/run.ts sets it): not part of the release.
    const injected = new Set(process.env.BPOFLOW_KIND_MODULES ? testKinds.map((k) => `${k.kind}@${k.version}`) : []);
    assert.deepEqual(
      registeredKinds().filter((id) => !injected.has(id)),
      catalog,
    );
    assert.ok(catalog.length >= 16, `catalog lists ${catalog.length} kinds`);
  });

  it('reports drift: an edited, a missing and an extra file', () => {
    const drift = catalogDrift([{ ...modelSft, description: 'edited' }, ...testKinds], defaultCatalogDir());
    assert.ok(drift.includes('model.sft@v1.json: differs from its kind module'), drift.join('\n'));
    assert.ok(drift.includes('test.noop@v1.json: missing'), drift.join('\n'));
    assert.ok(drift.includes('dataset.stats@v1.json: no kind module makes it'), drift.join('\n'));
  });
});

describe('kind arguments', () => {
  it('fill in the defaults, nested ones too', () => {
    const a = kindArgs(modelSft, { data: 's3://b/d.jsonl', init: {} }) as Record<string, unknown>;
    assert.equal(a.learningRate, 1e-3);
    assert.equal(a.batchSize, 4);
    assert.equal(a.schedule, 'linear');
    assert.deepEqual(a.init, { size: 'micro', tokenizer: 'byte', seed: 0 });
    assert.equal(a.maxSteps, undefined);
  });

  it('reject what the schema rejects, as bad input naming the argument', () => {
    assert.throws(
      () => kindArgs(modelSft, { data: 's3://b/d.jsonl', init: {}, batchSize: 0, colour: 'red' }),
      (e: Error) =>
        e.name === 'BadInput' &&
        e.message.startsWith('model.sft@v1: ') &&
        e.message.includes('with.batchSize must be >= 1') &&
        e.message.includes('(colour)'),
    );
  });

  it('leave the caller’s object alone', () => {
    const raw = { data: 's3://b/d.jsonl', init: {} };
    kindArgs(modelSft, raw);
    assert.deepEqual(raw, { data: 's3://b/d.jsonl', init: {} });
  });
});
