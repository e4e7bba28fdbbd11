// `bpoflow serve` as a real process on a free port, called with fetch like any
// OpenAI client would: a micro model from a local directory and from the store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bpoflowBin } from '../../infra/worker-process.js';
import { bpoflow, requireStackEnv } from '../helpers/worker.js';

interface Served {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

async function serve(model: string, extra: string[] = []): Promise<Served> {
  const proc = spawn(process.execPath, [bpoflowBin(), 'serve', model, '--port', '0', ...extra], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
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

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
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
    const m = (await (await fetch(`${local!.url}/v1/models`)).json()) as { object: string; data: { id: string; object: string }[] };
    assert.equal(m.object, 'list');
    assert.deepEqual(m.data.map((d) => [d.id, d.object]), [['micro-test', 'model']]);
  });

  test('chat completions: OpenAI schema, n samples, seeded', async () => {
    const body = { model: 'micro-test', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '2+3=' }], n: 3, max_tokens: 8, temperature: 1, top_p: 0.9, seed: 7 };
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
    assert.deepEqual(b.json.choices.map((c: any) => c.message.content), a.json.choices.map((c: any) => c.message.content), 'same seed, same samples');
    const c = await post(`${local!.url}/v1/chat/completions`, { ...body, seed: 8 });
    assert.notDeepEqual(c.json.choices.map((x: any) => x.message.content), a.json.choices.map((x: any) => x.message.content), 'another seed, other samples');
  });

  test('greedy decoding, max_tokens, stop', async () => {
    const g = await post(`${local!.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hello' }], n: 2, temperature: 0, max_tokens: 5 });
    assert.equal(g.status, 200);
    assert.equal(g.json.choices[0].message.content, g.json.choices[1].message.content, 'greedy is deterministic');
    const one = await post(`${local!.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hello' }], temperature: 0, max_tokens: 1 });
    assert.ok(one.json.usage.completion_tokens <= 1);
    const text = g.json.choices[0].message.content as string;
    if (text.length > 1) {
      // stopping at the greedy text's second character cuts it there
      const s = await post(`${local!.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hello' }], temperature: 0, max_tokens: 5, stop: [text.slice(1, 2)] });
      assert.equal(s.json.choices[0].message.content, text.slice(0, text.indexOf(text.slice(1, 2))));
      assert.equal(s.json.choices[0].finish_reason, 'stop');
    }
  });

  test('text completions and errors', async () => {
    const t = await post(`${local!.url}/v1/completions`, { prompt: '1+1=', max_tokens: 4, seed: 1 });
    assert.equal(t.status, 200);
    assert.equal(t.json.object, 'text_completion');
    assert.equal(typeof t.json.choices[0].text, 'string');
    const bad = await post(`${local!.url}/v1/chat/completions`, { messages: 'hi' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.type, 'invalid_request_error');
    assert.equal(bad.json.error.param, 'messages');
    const badN = await post(`${local!.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], n: 0 });
    assert.equal(badN.status, 400);
    const stream = await post(`${local!.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'x' }], stream: true });
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
      assert.deepEqual(a.json.choices.map((c: any) => c.message.content), b.json.choices.map((c: any) => c.message.content), 'the same weights from S3 and from disk sample alike');
    } finally {
      await stop(remote);
    }
  });
});
