// An OpenAI-compatible endpoint that answers 500 and echoes the request it got,
// Authorization header and all (and the bare key once more in its body). The
// API key must appear nowhere a user or another process can read it: the
// workflow histories, the Temporal server's database file, the worker's
// output, `bpoflow logs`, `bpoflow status --json`, the stored attempt logs.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { packageRoot } from '../../spec/package-root.js';
import { ArtifactStore } from '../../store/artifacts.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { finish, startPipeline, testClient } from '../helpers/runs.js';

const pipeline = join(packageRoot(), 'test', 'fixtures', 'bpo-data', 'bpo-echo.yaml');
// Neither shaped like a known key (no sk-) nor held in a variable named like a secret: only the
// registration of what `apiKeyEnv` read stands between it and the logs (and the Bearer shape).
const KEY = `echo-${randomBytes(12).toString('hex')}`;
let server: Server;
let url: string;
const seen: string[] = [];
let worker: WorkerHandle;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const auth = String(req.headers.authorization ?? '');
      seen.push(auth);
      const echo = JSON.stringify({
        error: { message: 'upstream exploded', type: 'server_error' },
        request: { method: req.method, url: req.url, headers: req.headers, body },
        token: auth.replace(/^Bearer /, ''),
      });
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(echo);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  worker = await startWorker(['--queues', 'bpo-echo-test'], { BPO_ECHO_CRED: KEY });
});
after(async () => {
  await worker?.stop();
  server?.close();
});

/** Every file under `dir` whose name starts with `prefix` (the database and its WAL/journal). */
function filesNamed(dir: string, prefix: string, depth = 0): string[] {
  if (depth > 4) return [];
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return [];
    if (st.isDirectory()) return filesNamed(p, prefix, depth + 1);
    return name.startsWith(prefix) ? [p] : [];
  });
}

// Payload bytes as text, so a key inside a payload is found too.
const asText = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('utf8') : x));

test('an API key echoed in an error body is redacted everywhere', async () => {
  const handle = await startPipeline(pipeline, [`url=${url}`]);
  const run = handle.workflowId;
  const { status, error } = await finish(handle);
  assert.ok(error, 'the run fails');
  const step = status.steps.find((s) => s.id === 'augment')!;
  assert.equal(step.state, 'failed');
  assert.equal(step.attempts, 2);
  assert.match(step.error!.message, /HTTP 500: .*upstream exploded/, 'the error still says what went wrong');
  assert.ok(seen.length >= 2 && seen.every((a) => a === `Bearer ${KEY}`), 'the endpoint really got the key');

  const client = await testClient();
  const places: Record<string, string> = {
    'pipeline history': asText(await handle.fetchHistory()),
    'step history': asText(await client.workflow.getHandle(`${run}--augment`).fetchHistory()),
    'worker output': worker.output(),
  };
  const logs = await bpoflow(['logs', run]);
  assert.equal(logs.code, 0, logs.stderr);
  places['bpoflow logs'] = logs.stdout + logs.stderr;
  const st = await bpoflow(['status', run, '--json']);
  places['bpoflow status --json'] = st.stdout + st.stderr;
  const store = ArtifactStore.fromEnv();
  const logKeys = (await store.list(`runs/${run}/augment/`)).filter((e) => /\/logs\//.test(e.key));
  assert.equal(logKeys.length, 2, 'one stored log per attempt');
  places['stored attempt logs'] = (
    await Promise.all(logKeys.map(async (e) => (await store.readBytes(`s3://${store.bucket}/${e.key}`)).toString()))
  ).join('\n');
  const home = process.env.BPOFLOW_HOME!;
  const dbFiles = filesNamed(home, 'temporal.db');
  assert.ok(dbFiles.length >= 1, `no temporal.db under ${home}`);
  places['temporal.db'] = dbFiles.map((f) => readFileSync(f).toString('latin1')).join('\n');

  for (const [where, text] of Object.entries(places)) {
    assert.ok(!text.includes(KEY), `the API key leaked into the ${where}`);
    // Not vacuous: the echoed error reached each place, redacted.
    if (where !== 'temporal.db')
      assert.match(text, /\[REDACTED\]/, `${where} has no redacted error: ${text.slice(0, 300)}`);
  }
  assert.ok(places['temporal.db']!.includes(run), 'the database file holds the run');
  assert.match(places['step history']!, /HTTP 500/);
  console.log(
    `secrets: key absent from ${Object.keys(places).join(', ')} (${dbFiles.length} database files, ${(places['temporal.db']!.length / 1e6).toFixed(1)} MB)`,
  );
});
