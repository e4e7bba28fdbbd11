import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { catalogDirsFromEnv, defaultCatalogDir, loadCatalog } from '../../../spec/catalog.js';
import { testKindsDir } from '../../kinds/catalog.js';

function dirWith(files: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpoflow-catalog-'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
}

const kind = (over: Record<string, unknown> = {}) => ({
  kind: 'x.y',
  version: 'v1',
  description: 'd',
  queue: 'cpu',
  args: { type: 'object', properties: { a: { type: 'string' } } },
  outputs: { o: { type: 'number' } },
  ...over,
});

describe('catalog', () => {
  it('loads the production catalog', () => {
    const c = loadCatalog();
    const stats = c.get('dataset.stats', 'v1');
    assert.ok(stats);
    assert.equal(stats.queue, 'cpu');
    assert.equal(stats.file, join(defaultCatalogDir(), 'dataset.stats@v1.json'));
  });

  it('adds extra directories, such as the test kinds', () => {
    const c = loadCatalog(defaultCatalogDir(), [testKindsDir()]);
    assert.ok(c.get('dataset.stats', 'v1'));
    assert.deepEqual(c.get('test.shard', 'v1')?.shardable, { input: 'data' });
    assert.deepEqual(c.versionsOf('test.noop'), ['v1']);
  });

  it('orders versions numerically', () => {
    const dir = dirWith({
      'x.y@v10.json': kind({ version: 'v10' }),
      'x.y@v2.json': kind({ version: 'v2' }),
      'x.y@v1.json': kind(),
    });
    assert.deepEqual(loadCatalog(dir).versionsOf('x.y'), ['v1', 'v2', 'v10']);
  });

  it('reads extra directories from the environment', () => {
    assert.deepEqual(catalogDirsFromEnv({ BPOFLOW_CATALOG_PATH: '/a:/b::' }), ['/a', '/b']);
    assert.deepEqual(catalogDirsFromEnv({}), []);
  });

  it('throws on broken catalog files, listing every defect', () => {
    const dir = dirWith({
      'x.y@v1.json': kind({ version: 'v2', queue: '', extra: 1 }),
      'bad name.json': kind(),
      'x.z@v1.json': '{ not json',
      'x.w@v1.json': kind({
        kind: 'x.w',
        args: { type: 'object', properties: { a: { type: 'strng' } } },
        outputs: { o: { type: 'file' }, r: { type: 'number', report: 'chart' } },
      }),
      'x.s@v1.json': kind({ kind: 'x.s', shardable: { input: 'nope' } }),
    });
    assert.throws(
      () => loadCatalog(dir),
      (e: Error) => {
        const lines = e.message
          .split('\n')
          .slice(1)
          .map((l) => l.trim().replace(`${dir}/`, ''));
        assert.deepEqual(lines, [
          'bad name.json: file name must be <kind>@v<N>.json',
          'x.s@v1.json: "shardable.input" must name one of the args',
          lines[2]!.startsWith('x.w@v1.json: "args" is not a valid JSON Schema:') ? lines[2] : 'x.w args error',
          'x.w@v1.json: outputs.o.type must be one of artifact, number, string, boolean',
          'x.w@v1.json: outputs.r.report must be stats or metric',
          'x.y@v1.json: "kind"/"version" must match the file name (x.y@v1)',
          'x.y@v1.json: "queue" must be a non-empty string',
          'x.y@v1.json: unknown key "extra"',
          lines[8]!.startsWith('x.z@v1.json: ') ? lines[8] : 'x.z parse error',
        ]);
        return true;
      },
    );
  });

  it('rejects the same kind and version in two directories', () => {
    const a = dirWith({ 'x.y@v1.json': kind() });
    const b = dirWith({ 'x.y@v1.json': kind() });
    assert.throws(() => loadCatalog(a, [b]), /x\.y@v1 is already defined by/);
  });
});
