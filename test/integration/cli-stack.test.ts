// `bpoflow up | status | down` on a stack of this file's own, and the CLI's
// usage errors. The real Temporal CLI and a plain S3 client read what a run left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Minio from 'minio';
import { freePort, isAlive, readCredentials, readStackState } from '../../infra/stack.js';
import { readVersions } from '../../infra/versions.js';
import { packageRoot } from '../../spec/package-root.js';
import { bpoflow } from '../helpers/worker.js';
import { finish, startPipeline } from '../helpers/runs.js';
import { startWorker, type WorkerHandle } from '../helpers/worker.js';

const home = mkdtempSync(join(tmpdir(), 'bpoflow-cli-stack-'));
const env = { BPOFLOW_HOME: home };
let ports: string[];

describe('bpoflow up/status/down', () => {
  before(async () => {
    ports = [
      '--temporal-port',
      String(await freePort()),
      '--ui-port',
      String(await freePort()),
      '--s3-port',
      String(await freePort()),
    ];
  });
  after(async () => {
    await bpoflow(['down'], env);
    rmSync(home, { recursive: true, force: true });
  });

  test('up starts both services on 127.0.0.1, a second up changes nothing, status reports them healthy', async () => {
    const first = await bpoflow(['up', ...ports], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Temporal: {2}127\.0\.0\.1:\d+/);
    assert.match(first.stdout, /UI: {8}http:\/\/127\.0\.0\.1:\d+/);
    assert.match(first.stdout, /S3: {8}http:\/\/127\.0\.0\.1:\d+ \(bucket bpoflow\)/);
    const credsMode = statSync(join(home, 's3.json')).mode & 0o777;
    assert.equal(credsMode, 0o600, 'credentials are private');
    const pids = readStackState(home)!.services.map((s) => s.pid);

    const second = await bpoflow(['up', ...ports], env);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /already running; nothing changed/);
    assert.deepEqual(
      readStackState(home)!.services.map((s) => s.pid),
      pids,
    );

    const status = await bpoflow(['status'], env);
    assert.equal(status.code, 0, status.stdout);
    assert.match(status.stdout, /^temporal +healthy +pid \d+/m);
    assert.match(status.stdout, /^s3 +healthy +pid \d+/m);
  });

  test('down stops the stack and keeps the data; status then exits non-zero', async () => {
    const pids = readStackState(home)!.services.map((s) => s.pid);
    const res = await bpoflow(['down'], env);
    assert.equal(res.code, 0);
    assert.ok(pids.every((p) => !isAlive(p)));
    assert.ok(statSync(join(home, 'temporal', 'temporal.db')).size > 0, 'the SQLite file is kept');
    const status = await bpoflow(['status'], env);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /^temporal +down/m);
  });

  test('a port taken by another program is a clear error, not a hang', async () => {
    const port = await freePort();
    const squatter: Server = createServer().listen(port, '127.0.0.1');
    try {
      const res = await bpoflow(
        [
          'up',
          '--temporal-port',
          String(port),
          '--ui-port',
          String(await freePort()),
          '--s3-port',
          String(await freePort()),
        ],
        env,
      );
      assert.equal(res.code, 1);
      assert.match(
        res.stderr,
        new RegExp(`port 127\\.0\\.0\\.1:${port} \\(temporal\\) is already in use by another program`),
      );
    } finally {
      squatter.close();
    }
  });

  test('a service that does not come up names its log and leaves nothing running', async () => {
    const res = await bpoflow(['up', ...ports], { ...env, BPOFLOW_WEED_BIN: '/bin/false' });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /SeaweedFS S3 exited during start-up; read .*logs\/s3\.log/);
    const state = readStackState(home)!;
    assert.deepEqual(state.services, [], 'the Temporal server it had started was stopped');
  });
});

describe('bpoflow usage', () => {
  test('an unknown command prints usage and exits 2', async () => {
    const res = await bpoflow(['frobnicate']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown command 'frobnicate'/);
    assert.match(res.stderr, /Usage: bpoflow/);
  });

  test('a bad flag prints usage and exits 2', async () => {
    const res = await bpoflow(['run', '--no-such-flag', 'x.yaml']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown option '--no-such-flag'/);
  });

  test('infra/tools.sh without Go names the missing toolchain', () => {
    let out = '';
    let code = 0;
    try {
      execFileSync('/bin/bash', [join(packageRoot(), 'infra', 'tools.sh')], {
        env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME },
        stdio: 'pipe',
      });
    } catch (err) {
      const e = err as { status: number; stderr: Buffer };
      code = e.status;
      out = e.stderr.toString();
    }
    assert.equal(code, 3);
    assert.match(out, /the Go toolchain is not on PATH/);
  });
});

describe('what a run leaves is readable by standard tools', () => {
  let worker: WorkerHandle;
  before(async () => {
    worker = await startWorker();
  });
  after(async () => {
    await worker?.stop();
  });

  test('the Temporal CLI lists the run and any S3 client reads its artifact', async () => {
    const handle = await startPipeline(join(packageRoot(), 'pipelines', 'examples', 'quickstart.yaml'));
    const { status } = await finish(handle);
    assert.equal(status.state, 'succeeded');
    const temporal = join(
      process.env.BPOFLOW_TOOLS ?? join(process.env.HOME!, '.cache/bpoflow/tools'),
      `temporal-${readVersions().TEMPORAL_CLI_VERSION}`,
      'temporal',
    );
    const listed = execFileSync(process.env.BPOFLOW_TEMPORAL_BIN ?? temporal, [
      'workflow',
      'list',
      '--address',
      process.env.TEMPORAL_ADDRESS!,
      '--query',
      `BpoflowPipeline = 'quickstart'`,
    ]).toString();
    assert.match(listed, new RegExp(`Completed +${handle.workflowId} `));
    const ours = await bpoflow(['list', '--pipeline', 'quickstart']);
    assert.equal(ours.code, 0, ours.stderr);
    assert.match(
      ours.stdout,
      new RegExp(`^${handle.workflowId} +succeeded `, 'm'),
      "bpoflow list speaks bpoflow's run states",
    );

    // A plain S3 GET of the artifact's key returns its manifest; the manifest names the blob.
    const url = new URL(process.env.BPOFLOW_S3_ENDPOINT!);
    const s3 = new Minio.Client({
      endPoint: url.hostname,
      port: Number(url.port),
      useSSL: false,
      accessKey: process.env.BPOFLOW_S3_ACCESS_KEY!,
      secretKey: process.env.BPOFLOW_S3_SECRET_KEY!,
      region: process.env.BPOFLOW_S3_REGION,
    });
    const uri = String(status.outputs?.report);
    const key = uri.slice(`s3://${process.env.BPOFLOW_S3_BUCKET}/`.length);
    const manifest = JSON.parse(await text(await s3.getObject(process.env.BPOFLOW_S3_BUCKET!, key))) as {
      blob: string;
    };
    const report = JSON.parse(await text(await s3.getObject(process.env.BPOFLOW_S3_BUCKET!, manifest.blob))) as {
      breadth: number;
      pairs: number;
    };
    assert.equal(report.breadth, 15);
    assert.equal(report.pairs, 40);
    assert.equal(readCredentials(process.env.BPOFLOW_HOME!)?.accessKey, process.env.BPOFLOW_S3_ACCESS_KEY);
  });
});

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += chunk.toString();
  return s;
}
