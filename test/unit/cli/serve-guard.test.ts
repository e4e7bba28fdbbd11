// serve's guard alone: loopback detection, where the key comes from, the key check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { checkApiKey, ConcurrencyGate, isLoopback, resolveServeApiKey } from '../../../cli/serve-guard.js';
import { redact } from '../../../activities/redact.js';

test('loopback addresses', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])
    assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.1', 'example.com', '128.0.0.1'])
    assert.equal(isLoopback(h), false, h);
});

test('the key: file first, then the environment; required beyond loopback; registered for redaction', () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-guard-'));
  const file = join(dir, 'key');
  writeFileSync(file, 'from-the-file-0123456789\nignored second line\n');
  assert.equal(
    resolveServeApiKey({ host: '0.0.0.0', apiKeyFile: file }, { BPOFLOW_SERVE_API_KEY: 'from-the-env-0123456789' }),
    'from-the-file-0123456789',
  );
  assert.equal(
    resolveServeApiKey({ host: '0.0.0.0' }, { BPOFLOW_SERVE_API_KEY: 'from-the-env-0123456789' }),
    'from-the-env-0123456789',
  );
  assert.equal(resolveServeApiKey({ host: '127.0.0.1' }, {}), undefined);
  assert.throws(
    () => resolveServeApiKey({ host: '0.0.0.0' }, {}),
    /refusing to serve on 0\.0\.0\.0 without an API key/,
  );
  assert.throws(() => resolveServeApiKey({ host: '::' }, { BPOFLOW_SERVE_API_KEY: 'short' }), /at least 16 characters/);
  assert.throws(
    () => resolveServeApiKey({ host: '0.0.0.0', apiKeyFile: join(dir, 'missing') }, {}),
    /--api-key-file .*missing: cannot read it \(ENOENT\)/,
  );
  assert.equal(redact('key from-the-file-0123456789 seen'), 'key [REDACTED] seen');
});

test('checkApiKey: Bearer or x-api-key, exact match only', () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  const key = 'k'.repeat(20);
  assert.equal(checkApiKey(req({}), undefined), true, 'no key configured: open');
  assert.equal(checkApiKey(req({}), key), false);
  assert.equal(checkApiKey(req({ authorization: `Bearer ${key}` }), key), true);
  assert.equal(checkApiKey(req({ 'x-api-key': key }), key), true);
  assert.equal(checkApiKey(req({ authorization: `Bearer ${key}k` }), key), false);
  assert.equal(checkApiKey(req({ authorization: `Bearer ${key.slice(1)}` }), key), false);
  assert.equal(checkApiKey(req({ authorization: key }), key), false);
});

test('ConcurrencyGate bounds requests in flight', () => {
  const g = new ConcurrencyGate(2);
  assert.equal(g.tryEnter(), true);
  assert.equal(g.tryEnter(), true);
  assert.equal(g.tryEnter(), false);
  g.leave();
  assert.equal(g.tryEnter(), true);
  assert.throws(() => new ConcurrencyGate(0), /--max-concurrent/);
});
