// The central redaction: known secret values (env, registered, files) and
// secret-shaped tokens leave logs and failures as [REDACTED].
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import {
  redact,
  redactError,
  redactValue,
  registerSecret,
  resetSecrets,
  REDACTED,
} from '../../../activities/redact.js';
import { createLogger } from '../../../activities/log.js';
import { BadInput } from '../../../activities/step-kind.js';

function withEnv<T>(vars: Record<string, string>, body: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  resetSecrets();
  try {
    return body();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetSecrets();
  }
}

test('values of secret-named env vars, registered values and key files are redacted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'redact-'));
  const keyFile = join(dir, 'serve.key');
  writeFileSync(keyFile, 'file-held-key-0123456789\n');
  withEnv(
    {
      MY_SERVICE_API_KEY: 'env-held-value-abcdef',
      BPOFLOW_S3_SECRET_KEY: 'seaweed-secret-xyz987',
      SOME_TOKEN_FILE: keyFile,
      HARMLESS: 'not-a-secret-value',
    },
    () => {
      registerSecret('registered-9f8e7d6c');
      const text =
        'a env-held-value-abcdef b seaweed-secret-xyz987 c file-held-key-0123456789 d registered-9f8e7d6c e not-a-secret-value';
      assert.equal(redact(text), `a ${REDACTED} b ${REDACTED} c ${REDACTED} d ${REDACTED} e not-a-secret-value`);
    },
  );
});

test('short values are left alone: they would match ordinary text', () => {
  withEnv({ TOKENIZERS_PARALLELISM: 'false' }, () =>
    assert.equal(redact('false positives stay false'), 'false positives stay false'),
  );
});

test('secret shapes: Bearer tokens, Authorization headers, sk- keys, URL credentials, key=value pairs, PEM keys', () => {
  const echo = JSON.stringify({
    headers: { authorization: 'Basic dXNlcjpwYXNzd29yZA==', 'x-api-key': 'opaque-value-1234' },
    body: '{"model":"m"}',
  });
  const out = redact(echo);
  assert.ok(!out.includes('dXNlcjpwYXNzd29yZA'), out);
  assert.ok(!out.includes('opaque-value-1234'), out);
  assert.ok(out.includes('"model'), 'the rest of the body stays readable');
  assert.equal(redact('Authorization: Bearer abcdefgh12345678\r\nHost: x'), `Authorization: ${REDACTED}\r\nHost: x`);
  assert.equal(redact('got Bearer abcdefgh12345678 back'), `got Bearer ${REDACTED} back`);
  assert.equal(redact('key sk-proj-AbCdEf0123456789xyz used'), `key ${REDACTED} used`);
  assert.equal(redact('GET https://user:hunter2222@example.com/x'), `GET https://${REDACTED}@example.com/x`);
  assert.equal(redact('api_key=abcdef123456&n=1'), `api_key=${REDACTED}&n=1`);
  assert.equal(redact('-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----'), REDACTED);
  // Ordinary words are not credentials.
  for (const s of ['task-0123456789abcdef', 'max_tokens: 64', 'the basic tokenizer', '"apiKeyEnv":"OPENAI_API_KEY"'])
    assert.equal(redact(s), s);
});

test('a secret inside JSON (escaped) is still found', () => {
  registerSecret('quote"in\\secret-42');
  assert.equal(redact(JSON.stringify({ k: 'quote"in\\secret-42' })), JSON.stringify({ k: REDACTED }));
});

test('redactError keeps class, name, type and retryability; redacts message, stack and causes', () => {
  registerSecret('cause-held-secret-77');
  const inner = new Error('inner saw cause-held-secret-77');
  const outer = new BadInput('endpoint echoed cause-held-secret-77', { cause: inner });
  const r = redactError(outer);
  assert.ok(r instanceof BadInput);
  assert.equal(r.name, 'BadInput');
  assert.ok(!r.message.includes('cause-held-secret-77'));
  assert.ok(!String(r.stack).includes('cause-held-secret-77'));
  assert.ok(!(r.cause as Error).message.includes('cause-held-secret-77'));
  assert.ok(!String((r.cause as Error).stack).includes('cause-held-secret-77'));
  const f = redactError(
    ApplicationFailure.create({
      type: 'HttpError',
      message: 'x cause-held-secret-77',
      nonRetryable: true,
      details: ['cause-held-secret-77'],
    }),
  );
  assert.ok(f instanceof ApplicationFailure);
  assert.equal(f.type, 'HttpError');
  assert.equal(f.nonRetryable, true);
  assert.equal(f.message, `x ${REDACTED}`);
  assert.deepEqual(f.details, [REDACTED]);
  assert.equal(redactError('plain cause-held-secret-77'), `plain ${REDACTED}`);
});

test('the logger redacts every record it writes and sinks', () => {
  registerSecret('logged-secret-5566');
  const lines: string[] = [];
  const sunk: unknown[] = [];
  const out = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  const log = createLogger({ run: 'r' }, out, { sink: (r) => sunk.push(r) });
  log.error('failed with logged-secret-5566', {
    error: 'HTTP 500: logged-secret-5566',
    nested: { list: ['logged-secret-5566'] },
  });
  assert.equal(lines.length, 1);
  assert.ok(!lines[0]!.includes('logged-secret-5566'), lines[0]);
  assert.ok(!JSON.stringify(sunk).includes('logged-secret-5566'));
  assert.deepEqual(redactValue({ a: ['logged-secret-5566', 3] }), { a: [REDACTED, 3] });
  assert.deepEqual(redactValue({ at: new Date(0) }), { at: '1970-01-01T00:00:00.000Z' }, 'values keep their JSON form');
});
