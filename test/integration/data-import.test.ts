// dataset.import / dataset.stats on the real stack with real file formats:
// an HH-RLHF .jsonl.gz (uploaded under a name that does not say gzip, so only
// its bytes can tell) and a pyarrow-written Parquet file. Skipped rows are
// listed in skipped.jsonl; stats lengths state their unit; a bad row under
// onError: fail stops the step once (not retried) with its row number.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { packageRoot } from '../../spec/package-root.js';
import { ArtifactStore } from '../../store/artifacts.js';
import type { RunStatus } from '../../workflows/pipeline.js';
import { finish, innermostMessage, startPipeline } from '../helpers/runs.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';

const data = join(packageRoot(), 'test', 'fixtures', 'data');
const dir = mkdtempSync(join(tmpdir(), 'bpoflow-data-import-'));
let worker: WorkerHandle;
const store = () => ArtifactStore.fromEnv();
const out = (s: RunStatus, id: string) => s.steps.find((x) => x.id === id)!.outputs!;
const lines = async (uri: unknown) =>
  (await store().readBytes(String(uri)))
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

const HEADER = ['apiVersion: bpoflow/v1', 'kind: Pipeline', 'metadata:', '  name: data-import'];

before(async () => {
  worker = await startWorker();
  copyFileSync(join(data, 'hh-sample.jsonl.gz'), join(dir, 'hh-test.jsonl')); // gzip bytes, plain name
  copyFileSync(join(data, 'ultrafeedback.parquet'), join(dir, 'uf.parquet'));
  writeFileSync(
    join(dir, 'ok.yaml'),
    [
      ...HEADER,
      'inputs:',
      '  hh: { path: hh-test.jsonl }',
      '  uf: { path: uf.parquet }',
      'steps:',
      '  - id: hh',
      '    uses: dataset.import@v1',
      '    with: { source: "${{ inputs.hh }}", onError: skip }',
      '  - id: uf',
      '    uses: dataset.import@v1',
      '    with: { source: "${{ inputs.uf }}", onError: skip }',
      '  - id: stats',
      '    uses: dataset.stats@v1',
      '    with: { data: "${{ steps.hh.outputs.data }}", tokenizer: gpt2 }',
      '  - id: rawstats',
      '    uses: dataset.stats@v1',
      '    with: { data: "${{ inputs.hh }}", onError: skip }',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'fail.yaml'),
    [
      ...HEADER,
      'inputs:',
      '  hh: { path: hh-test.jsonl }',
      'steps:',
      '  - id: hh',
      '    uses: dataset.import@v1',
      '    with: { source: "${{ inputs.hh }}" }',
      '',
    ].join('\n'),
  );
});
after(async () => {
  await worker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('gzipped HH and Parquet import with their turns; skipped rows listed; lengths with their unit', async () => {
  const { status, error } = await finish(await startPipeline(join(dir, 'ok.yaml')));
  assert.equal(error, undefined, String(error));
  const hh = out(status, 'hh');
  assert.deepEqual([hh.rows, hh.skipped, hh.format], [3, 1, 'pairs']);
  const skipped = await lines(hh.skippedRows);
  assert.deepEqual(
    skipped.map(({ row, reason }) => ({ row, reason })),
    [{ row: 3, reason: '"chosen" has an empty response after the shared prompt' }],
  );
  assert.match(String(skipped[0]!.excerpt), /Tell me a secret/);
  const rows = await lines(hh.data);
  assert.deepEqual(rows[0], {
    prompt: [
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris.' },
      { role: 'user', content: 'And of Italy?' },
    ],
    chosen: [{ role: 'assistant', content: 'Rome.' }],
    rejected: [{ role: 'assistant', content: 'Milan, I think.' }],
  });
  const m = await store().manifest(String(hh.data));
  assert.equal((m.attributes as Record<string, unknown>).container, 'gzip');

  const uf = out(status, 'uf');
  assert.deepEqual([uf.rows, uf.skipped], [4, 1]);
  assert.deepEqual(
    (await lines(uf.skippedRows)).map((r) => [r.row, r.reason]),
    [[3, '"chosen" must not be empty']],
  );

  const stats = await store().readJson<{ lengths: { unit: string; tokenizer?: string; chosen: { max: number } } }>(
    String(out(status, 'stats').stats),
  );
  assert.equal(stats.lengths.unit, 'tokens');
  assert.equal(stats.lengths.tokenizer, 'gpt2');
  assert.deepEqual(await lines(out(status, 'stats').skippedRows), []);
  const raw = await store().readJson<{ rows: number; skipped: number; lengths: { unit: string } }>(
    String(out(status, 'rawstats').stats),
  );
  assert.deepEqual([raw.rows, raw.skipped, raw.lengths.unit], [4, 1, 'characters']);
  assert.equal((await lines(out(status, 'rawstats').skippedRows)).length, 1);
});

test('a bad row under onError: fail stops the import once, naming the row', async () => {
  const { status, error } = await finish(await startPipeline(join(dir, 'fail.yaml')));
  assert.ok(error, 'the run fails');
  assert.equal(status.state, 'failed');
  const msg = innermostMessage(error);
  assert.match(
    msg,
    /DatasetRowError: s3:\/\/\S+\/hh-test\.jsonl: row 3: "chosen" has an empty response after the shared prompt$/,
  );
  const step = status.steps.find((s) => s.id === 'hh')!;
  assert.equal(step.error?.type, 'DatasetRowError');
  assert.equal(step.attempts, 1, 'a bad row is not retried');
});
