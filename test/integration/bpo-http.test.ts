// bpo.augment's OpenAI-compatible generator and judge reward against a real
// `bpoflow serve` subprocess (micro model, free port). The API key reaches the
// worker only through the environment variable the YAML names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { ArtifactStore } from '../../store/artifacts.js';
import { packageRoot } from '../../spec/package-root.js';
import { bpoflowBin } from '../../infra/worker-process.js';
import { Gpt2Model, makeConfig, selectBackend, serializeModel } from '../../ml/index.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';

const dir = join(packageRoot(), 'test', 'fixtures', 'bpo-data');
const KEY = 'sk-test-not-a-real-key-123';
let worker: WorkerHandle;
let server: ChildProcess;
let url: string;

before(async () => {
  await selectBackend();
  const model = Gpt2Model.init(makeConfig('micro', 258), 9, 'byte');
  const s = ArtifactStore.fromEnv();
  const uri = (
    await s.putBundle(`s3://${s.bucket}/test/bpo/serve-micro-${Date.now()}`, serializeModel(model).files, {
      kind: 'model',
    })
  ).uri;
  model.dispose();
  server = spawn(process.execPath, [bpoflowBin(), 'serve', uri, '--port', '0', '--name', 'micro'], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bpoflow serve did not start:\n${text}`)), 60_000);
    const on = (d: Buffer) => {
      text += d.toString();
      const m = /listening on (\S+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    server.stdout!.on('data', on);
    server.stderr!.on('data', on);
    server.on('exit', (c) => reject(new Error(`bpoflow serve exited (${c}):\n${text}`)));
  });
  worker = await startWorker(['--queues', 'bpo-http-test'], { BPO_TEST_API_KEY: KEY });
});
after(async () => {
  await worker?.stop();
  server?.kill('SIGTERM');
});

describe('bpo.augment over HTTP', () => {
  test('openai generator + judge reward (sharded), and openai generator + verifier', async () => {
    const handle = await startPipeline(join(dir, 'bpo-http.yaml'), [`url=${url}`]);
    const { status, error } = await finish(handle);
    assert.equal(error, undefined, String(error));
    const aug = status.steps.find((s) => s.id === 'augment')!.outputs!;
    assert.equal(aug.prompts, 12);
    assert.equal(aug.samples, 36);
    const rows = (await ArtifactStore.fromEnv().readBytes(String(aug.responses)))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Blank completions are counted, not written; a row needs two non-blank responses.
    assert.ok(rows.length <= 12);
    let written = 0;
    for (const r of rows) {
      assert.ok(r.responses.length >= 2 && r.responses.length <= 3);
      written += r.responses.length;
      for (const x of r.responses) assert.ok(x.score >= 0 && x.score <= 1 && x.text.trim() !== '');
    }
    assert.ok(written <= 36 - Number(aug.blank));
    const ver = status.steps.find((s) => s.id === 'verified')!.outputs!;
    assert.equal(ver.samples, 36);
    // The key is never part of what the workflow records.
    const history = JSON.stringify(await handle.fetchHistory());
    assert.ok(!history.includes(KEY), 'API key leaked into the workflow history');
  });

  test('a missing API key env var fails as BadInput', async () => {
    const { status, error } = await finish(
      await startPipeline(join(dir, 'bpo-http.yaml'), [`url=${url}`, 'keyEnv=BPO_TEST_UNSET_KEY']),
    );
    assert.ok(error);
    const step = status.steps.find((s) => s.id === 'augment')!;
    assert.equal(step.state, 'failed');
    assert.equal(step.error?.type, 'BadInput');
    assert.match(step.error?.message ?? '', /BPO_TEST_UNSET_KEY/);
  });
});
