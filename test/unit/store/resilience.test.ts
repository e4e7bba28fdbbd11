// Deadlines and retries of S3 calls, against local sockets that misbehave on purpose
// (refuse, never answer, stall mid-body): no S3 server needed.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { test } from 'node:test';
import { ArtifactStore, StoreUnavailableError, validateManifest, ManifestError } from '../../../store/artifacts.js';
import {
  classifyS3Error,
  deadlineTransport,
  retrying,
  DEFAULT_RESILIENCE,
  type ResilienceOptions,
} from '../../../store/resilience.js';

const fast: ResilienceOptions = {
  ...DEFAULT_RESILIENCE,
  idleTimeoutMs: 300,
  retryBudgetMs: 1_500,
  initialBackoffMs: 20,
  maxBackoffMs: 100,
};

async function listen(server: Server | http.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}
/** A port with nothing listening on it. */
async function deadPort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}
const storeAt = (port: number, resilience: Partial<ResilienceOptions> = fast) =>
  new ArtifactStore(
    {
      endPoint: '127.0.0.1',
      port,
      useSSL: false,
      accessKey: 'AKIAEXAMPLEKEY',
      secretKey: 'very-secret-key',
      bucket: 'bpoflow-it',
      region: 'us-east-1',
    },
    { resilience },
  );

test('classifies infrastructure, not-found and permanent errors', () => {
  assert.equal(
    classifyS3Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    'transient',
  );
  assert.equal(classifyS3Error(Object.assign(new Error('x'), { code: 'S3Timeout' })), 'transient');
  assert.equal(
    classifyS3Error(
      Object.assign(new Error('We encountered an internal error'), { code: 'InternalError', statusCode: 500 }),
    ),
    'transient',
  );
  assert.equal(classifyS3Error(Object.assign(new Error('x'), { statusCode: 503 })), 'transient');
  assert.equal(
    classifyS3Error(new Error('Request failed after 0 retries: Error: Retryable HTTP status: 500')),
    'transient',
    "minio's own wording for a 500",
  );
  assert.equal(classifyS3Error(new Error('volume server is not ready')), 'transient');
  assert.equal(classifyS3Error(Object.assign(new Error('x'), { code: 'NoSuchKey', statusCode: 404 })), 'not-found');
  assert.equal(classifyS3Error(Object.assign(new Error('x'), { code: 'NoSuchBucket', statusCode: 404 })), 'no-bucket');
  assert.equal(classifyS3Error(Object.assign(new Error('x'), { code: 'AccessDenied', statusCode: 403 })), 'permanent');
  assert.equal(classifyS3Error(new TypeError('bad argument')), 'permanent');
});

test('retrying: transient errors are retried until they stop, others are not', async () => {
  let calls = 0;
  const ok = await retrying(fast, 'op', async () => {
    if (++calls < 4) throw Object.assign(new Error('reset'), { code: 'ECONNRESET' });
    return 'done';
  });
  assert.equal(ok, 'done');
  assert.equal(calls, 4);
  calls = 0;
  await assert.rejects(
    retrying(fast, 'op', async () => {
      calls++;
      throw Object.assign(new Error('nope'), { code: 'AccessDenied' });
    }),
    /nope/,
  );
  assert.equal(calls, 1, 'a permanent error is not retried');
});

test('retrying stops waiting at once when the caller is cancelled', async () => {
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(new Error('step cancelled')), 150);
  await assert.rejects(
    retrying(
      { ...fast, retryBudgetMs: 60_000, initialBackoffMs: 1_000, maxBackoffMs: 1_000, signal: () => ac.signal },
      'op',
      async () => {
        throw Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
      },
    ),
    /step cancelled/,
  );
  assert.ok(Date.now() - started < 900, `cancelled within the backoff, took ${Date.now() - started} ms`);
});

test('the store gives up on a refused connection after its budget, naming the object', async () => {
  const notices: string[] = [];
  const store = storeAt(await deadPort(), { ...fast, onRetry: (n) => notices.push(n.what) });
  const started = Date.now();
  await assert.rejects(
    store.put('s3://bpoflow-it/runs/r1/train/checkpoints/0000000010', Buffer.from('weights'), { kind: 'checkpoint' }),
    (e: unknown) => {
      assert.ok(e instanceof StoreUnavailableError, String(e));
      assert.match(
        e.message,
        /^publishing s3:\/\/bpoflow-it\/runs\/r1\/train\/checkpoints\/0000000010: S3 at http:\/\/127\.0\.0\.1:\d+ unavailable: check bucket bpoflow-it still failing after \d+ s and \d+ attempts: connect ECONNREFUSED/,
      );
      assert.ok(e.attempts > 3, `retried, ${e.attempts} attempts`);
      assert.ok(!e.message.includes('very-secret-key'));
      return true;
    },
  );
  const took = Date.now() - started;
  assert.ok(took >= 1_000 && took < 5_000, `gave up after about the 1.5 s budget, took ${took} ms`);
  assert.ok(notices.length >= 1, 'the wait was reported');
});

test('a server that accepts but never answers fails the request on the inactivity deadline', async () => {
  const sockets: import('node:net').Socket[] = [];
  const silent = createServer((s) => void sockets.push(s));
  const port = await listen(silent);
  try {
    const store = storeAt(port, { ...fast, retryBudgetMs: 0 });
    const started = Date.now();
    await assert.rejects(store.readBytes('s3://bpoflow-it/data/x.jsonl'), (e: unknown) => {
      assert.ok(e instanceof StoreUnavailableError, String(e));
      assert.match(
        e.message,
        /get s3:\/\/bpoflow-it\/data\/x\.jsonl still failing .*no progress for 300 ms on GET \/bpoflow-it\/data\/x\.jsonl/,
      );
      return true;
    });
    assert.ok(Date.now() - started < 3_000);
  } finally {
    for (const s of sockets) s.destroy();
    silent.close();
  }
});

/** A server that sends `first` bytes of a body, then (when `stall`) goes silent. */
async function bodyServer(total: number, stallAfter: number | undefined): Promise<{ port: number; close: () => void }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(total) });
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        if (stallAfter !== undefined && sent >= stallAfter) return; // silence
        const n = Math.min(chunk.length, total - sent);
        sent += n;
        if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  const port = await listen(server);
  return {
    port,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

test('inactivity deadline: a stalled body fails, a slow reader does not', async () => {
  const transport = deadlineTransport(http, 300);
  const get = (port: number) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = transport.request({ host: '127.0.0.1', port, path: '/obj' }, resolve);
      req.on('error', reject);
      req.end();
    });
  const stalled = await bodyServer(4 << 20, 1 << 20);
  try {
    const res = await get(stalled.port);
    await assert.rejects(
      (async () => {
        for await (const _ of res) void _;
      })(),
      /no progress for 300 ms on GET \/obj \(reading the response\)/,
    );
  } finally {
    stalled.close();
  }
  const steady = await bodyServer(4 << 20, undefined);
  try {
    const res = await get(steady.port);
    let n = 0;
    for await (const c of res) {
      n += (c as Buffer).length;
      if (n < 1 << 20) await new Promise((r) => setTimeout(r, 100)); // a reader slower than the deadline, several times over
    }
    assert.equal(n, 4 << 20);
  } finally {
    steady.close();
  }
});

test('validateManifest rejects bundle names that leave the directory', () => {
  const sha = 'a'.repeat(64);
  const blob = `blobs/sha256/aa/${sha}`;
  const manifest = (files: Record<string, unknown>) => ({
    schema: 'bpoflow.artifact/v1',
    uri: 's3://b/m',
    kind: 'model',
    mediaType: 'x',
    size: 1,
    sha256: sha,
    files,
    inputs: [],
    createdAt: '',
  });
  const file = { sha256: sha, size: 1, mediaType: 'x', blob };
  assert.doesNotThrow(() => validateManifest(manifest({ 'a/b.json': file, 'model.safetensors': file }), 's3://b/m'));
  for (const name of ['../../x', '/etc/passwd', 'a/../../x', 'a\\..\\x', 'C:/x', 'a\0b', './x', 'a//b', '']) {
    assert.throws(
      () => validateManifest(manifest({ [name]: file }), 's3://b/m'),
      (e: unknown) => {
        assert.ok(e instanceof ManifestError, `${JSON.stringify(name)}: ${e}`);
        assert.match(e.message, /^bundle s3:\/\/b\/m: file name .* is not allowed: /);
        return true;
      },
    );
  }
  assert.throws(
    () => validateManifest(manifest({ ok: { ...file, blob: '../other/key' } }), 's3://b/m'),
    /is not a blob key/,
  );
  assert.throws(
    () => validateManifest({ ...manifest({}), files: undefined, blob: 'runs/x/secret' }, 's3://b/m'),
    /is not a blob key/,
  );
});
