// `bpoflow serve` as a real process on a free port, called with fetch like any
// OpenAI client would: a micro model from a local directory and from the store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpoflowBin } from '../../infra/worker-process.js';
import { bpoflow, requireStackEnv } from '../helpers/worker.js';

interface Served {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

async function serve(model: string, extra: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<Served> {
  const proc = spawn(process.execPath, [bpoflowBin(), 'serve', model, '--port', '0', ...extra], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 30 s:\n${out}`)), 30_000);
    proc.on('exit', (c) => reject(new Error(`serve exited (${c}):\n${out}`)));
    proc.stdout!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { proc, url, output: () => out };
}

const stop = (s: Served | undefined) =>
  new Promise<void>((resolve) => {
    if (!s || s.proc.exitCode !== null) return resolve();
    s.proc.once('exit', () => resolve());
    s.proc.kill('SIGTERM');
  });

/** The fields of an OpenAI-style reply these tests read: a completion's, or an error's. */
interface Reply {
  object: string;
  id: string;
  model: string;
  choices: { index: number; message: { role: string; content: string }; text: string; finish_reason: string }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  error: { type: string; param: string; code: string; message: string };
}

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Reply };
};

const dir = mkdtempSync(join(tmpdir(), 'bpoflow-serve-'));
let local: Served | undefined;
before(async () => {
  const r = await bpoflow(['model', 'init', '--size', 'micro', '--seed', '3', '--out', join(dir, 'micro')]);
  assert.equal(r.code, 0, r.stderr);
  local = await serve(join(dir, 'micro'), ['--name', 'micro-test']);
});
after(async () => {
  await stop(local);
  rmSync(dir, { recursive: true, force: true });
});

describe('bpoflow serve', () => {
  test('health and models', async () => {
    const h = (await (await fetch(`${local!.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(h.status, 'ok');
    assert.equal(h.model, 'micro-test');
    const m = (await (await fetch(`${local!.url}/v1/models`)).json()) as {
      object: string;
      data: { id: string; object: string }[];
    };
    assert.equal(m.object, 'list');
    assert.deepEqual(
      m.data.map((d) => [d.id, d.object]),
      [['micro-test', 'model']],
    );
  });

  test('chat completions: OpenAI schema, n samples, seeded', async () => {
    const body = {
      model: 'micro-test',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: '2+3=' },
      ],
      n: 3,
      max_tokens: 8,
      temperature: 1,
      top_p: 0.9,
      seed: 7,
    };
    const a = await post(`${local!.url}/v1/chat/completions`, body);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.json.object, 'chat.completion');
    assert.match(a.json.id, /^chatcmpl-/);
    assert.equal(a.json.model, 'micro-test');
    assert.equal(a.json.choices.length, 3);
    for (const [i, c] of a.json.choices.entries()) {
      assert.equal(c.index, i);
      assert.equal(c.message.role, 'assistant');
      assert.equal(typeof c.message.content, 'string');
      assert.ok(['stop', 'length'].includes(c.finish_reason));
    }
    const u = a.json.usage;
    assert.equal(u.prompt_tokens, Buffer.byteLength('System: Be brief.\nUser: 2+3=\nAssistant: ')); // byte tokenizer: one token per byte
    assert.ok(u.completion_tokens > 0 && u.completion_tokens <= 3 * 9);
    assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens);
    const b = await post(`${local!.url}/v1/chat/completions`, body);
    assert.deepEqual(
      b.json.choices.map((c) => c.message.content),
      a.json.choices.map((c) => c.message.content),
      'same seed, same samples',
    );
    const c = await post(`${local!.url}/v1/chat/completions`, { ...body, seed: 8 });
    assert.notDeepEqual(
      c.json.choices.map((x) => x.message.content),
      a.json.choices.map((x) => x.message.content),
      'another seed, other samples',
    );
  });

  test('greedy decoding, max_tokens, stop', async () => {
    const g = await post(`${local!.url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'hello' }],
      n: 2,
      temperature: 0,
      max_tokens: 5,
    });
    assert.equal(g.status, 200);
    assert.equal(g.json.choices[0]!.message.content, g.json.choices[1]!.message.content, 'greedy is deterministic');
    const one = await post(`${local!.url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'hello' }],
      temperature: 0,
      max_tokens: 1,
    });
    assert.ok(one.json.usage.completion_tokens <= 1);
    const text = g.json.choices[0]!.message.content;
    if (text.length > 1) {
      // stopping at the greedy text's second character cuts it there
      const s = await post(`${local!.url}/v1/chat/completions`, {
        messages: [{ role: 'user', content: 'hello' }],
        temperature: 0,
        max_tokens: 5,
        stop: [text.slice(1, 2)],
      });
      assert.equal(s.json.choices[0]!.message.content, text.slice(0, text.indexOf(text.slice(1, 2))));
      assert.equal(s.json.choices[0]!.finish_reason, 'stop');
    }
  });

  test('text completions and errors', async () => {
    const t = await post(`${local!.url}/v1/completions`, { prompt: '1+1=', max_tokens: 4, seed: 1 });
    assert.equal(t.status, 200);
    assert.equal(t.json.object, 'text_completion');
    assert.equal(typeof t.json.choices[0]!.text, 'string');
    const bad = await post(`${local!.url}/v1/chat/completions`, { messages: 'hi' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.type, 'invalid_request_error');
    assert.equal(bad.json.error.param, 'messages');
    const badN = await post(`${local!.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], n: 0 });
    assert.equal(badN.status, 400);
    const stream = await post(`${local!.url}/v1/chat/completions`, {
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    assert.equal(stream.status, 400);
    const missing = await fetch(`${local!.url}/v2/nothing`);
    assert.equal(missing.status, 404);
  });

  test('serves a model artifact from the store', async () => {
    requireStackEnv();
    const uri = `s3://${process.env.BPOFLOW_S3_BUCKET ?? 'bpoflow'}/tests/serve-${randomBytes(4).toString('hex')}/model`;
    const r = await bpoflow(['model', 'init', '--size', 'micro', '--seed', '3', '--out', uri]);
    assert.equal(r.code, 0, r.stderr);
    const remote = await serve(uri);
    try {
      const body = { messages: [{ role: 'user', content: '2+3=' }], n: 2, max_tokens: 6, seed: 11 };
      const a = await post(`${remote.url}/v1/chat/completions`, body);
      const b = await post(`${local!.url}/v1/chat/completions`, body);
      assert.equal(a.status, 200);
      assert.deepEqual(
        a.json.choices.map((c) => c.message.content),
        b.json.choices.map((c) => c.message.content),
        'the same weights from S3 and from disk sample alike',
      );
    } finally {
      await stop(remote);
    }
  });
});

describe('bpoflow serve: API key and bounds', () => {
  const KEY = 'serve-test-key-' + randomBytes(12).toString('hex');
  const envWithoutKey = () => {
    const env = { ...process.env };
    delete env.BPOFLOW_SERVE_API_KEY;
    return env;
  };
  const chat = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 2, seed: 1 };
  const call = async (url: string, headers: Record<string, string>, body: unknown = chat) => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Reply, headers: res.headers };
  };

  test('refuses to bind beyond loopback without a key', async () => {
    const r = await bpoflow(['serve', join(dir, 'micro'), '--host', '0.0.0.0', '--port', '0'], envWithoutKey());
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /refusing to serve on 0\.0\.0\.0 without an API key.*BPOFLOW_SERVE_API_KEY.*--api-key-file/);
    const short = await bpoflow(['serve', join(dir, 'micro'), '--host', '0.0.0.0', '--port', '0'], {
      BPOFLOW_SERVE_API_KEY: 'short',
    });
    assert.notEqual(short.code, 0);
    assert.match(short.stderr, /at least 16 characters/);
  });

  test('on 0.0.0.0 with --api-key-file: 401 without or with a wrong key, 200 with it, 413 over the body limit, 429 over the concurrency bound', async () => {
    const keyFile = join(dir, 'serve.key');
    writeFileSync(keyFile, KEY + '\n', { mode: 0o600 });
    const s = await serve(
      join(dir, 'micro'),
      ['--host', '0.0.0.0', '--api-key-file', keyFile, '--max-concurrent', '1', '--max-body-bytes', '2048'],
      envWithoutKey(),
    );
    const url = s.url.replace('0.0.0.0', '127.0.0.1');
    try {
      const none = await call(url, {});
      assert.equal(none.status, 401);
      assert.equal(none.json.error.code, 'invalid_api_key');
      assert.equal(none.headers.get('www-authenticate'), 'Bearer');
      assert.equal((await call(url, { authorization: `Bearer ${KEY}x` })).status, 401, 'a longer wrong key');
      assert.equal((await call(url, { authorization: 'Bearer wrong' })).status, 401, 'a short wrong key');
      assert.equal((await call(url, { authorization: KEY })).status, 401, 'the key without the Bearer scheme');
      const ok = await call(url, { authorization: `Bearer ${KEY}` });
      assert.equal(ok.status, 200, JSON.stringify(ok.json));
      assert.equal(ok.json.object, 'chat.completion');
      assert.equal((await call(url, { 'x-api-key': KEY })).status, 200);
      assert.equal((await fetch(`${url}/v1/models`)).status, 401);
      // Liveness probes need no key, but learn nothing else.
      assert.deepEqual(await (await fetch(`${url}/health`)).json(), { status: 'ok' });

      const big = await call(
        url,
        { authorization: `Bearer ${KEY}` },
        JSON.stringify({ ...chat, pad: 'x'.repeat(4096) }),
      );
      assert.equal(big.status, 413);
      assert.match(big.json.error.message, /request body too large/);

      // One request holds the only slot while its body trickles in; the next is turned away.
      const body = JSON.stringify(chat);
      const port = Number(new URL(url).port);
      const req = request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/chat/completions',
        headers: {
          authorization: `Bearer ${KEY}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      });
      const held = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
      });
      req.write(body.slice(0, 5));
      req.flushHeaders();
      let busy = { status: 0, json: {} as Reply, headers: new Headers() };
      for (let i = 0; i < 50 && busy.status !== 429; i++) {
        busy = await call(url, { authorization: `Bearer ${KEY}` });
        if (busy.status !== 429) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(busy.status, 429);
      assert.equal(busy.json.error.type, 'rate_limit_exceeded');
      assert.equal(busy.headers.get('retry-after'), '1');
      req.end(body.slice(5));
      assert.equal(await held, 200, 'the held request completes');
      assert.equal((await call(url, { authorization: `Bearer ${KEY}` })).status, 200, 'the slot is free again');
      assert.ok(!s.output().includes(KEY), 'the key never appears in the server output');
    } finally {
      await stop(s);
    }
  });
});
