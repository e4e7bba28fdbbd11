import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { inspect, format } from 'node:util';
import { resolveStoreConfig, StoreConfig, StoreConfigError } from '../../../store/config.js';
import { ArtifactStore } from '../../../store/artifacts.js';

const SECRET = 'sup3r-s3cret-value';
const ACCESS = 'AKIA-test-access';

const env = {
  BPOFLOW_S3_ENDPOINT: 'http://127.0.0.1:18333',
  BPOFLOW_S3_ACCESS_KEY: ACCESS,
  BPOFLOW_S3_SECRET_KEY: SECRET,
  BPOFLOW_S3_BUCKET: 'bpoflow',
};

test('config from environment variables', () => {
  const c = resolveStoreConfig(env);
  assert.equal(c.endPoint, '127.0.0.1');
  assert.equal(c.port, 18333);
  assert.equal(c.useSSL, false);
  assert.equal(c.bucket, 'bpoflow');
  assert.equal(c.region, 'us-east-1');
  assert.equal(c.accessKey, ACCESS);
  assert.equal(c.secretKey, SECRET);
  const s = resolveStoreConfig({
    ...env,
    BPOFLOW_S3_ENDPOINT: 'https://s3.example.com',
    BPOFLOW_S3_REGION: 'eu-west-1',
  });
  assert.equal(s.useSSL, true);
  assert.equal(s.port, 443);
  assert.equal(s.region, 'eu-west-1');
});

test('config: partial env is an error naming the missing variables', () => {
  assert.throws(
    () => resolveStoreConfig({ BPOFLOW_S3_ENDPOINT: 'http://x:1' }),
    (e: unknown) =>
      e instanceof StoreConfigError &&
      /BPOFLOW_S3_ACCESS_KEY, BPOFLOW_S3_SECRET_KEY, BPOFLOW_S3_BUCKET are missing/.test(e.message),
  );
});

test('config from $BPOFLOW_HOME/s3.json and from ./.bpoflow', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpoflow-cfg-'));
  const home = path.join(dir, 'home');
  mkdirSync(home);
  writeFileSync(
    path.join(home, 's3.json'),
    JSON.stringify({
      endpoint: 'http://127.0.0.1:9100',
      accessKey: ACCESS,
      secretKey: SECRET,
      bucket: 'bk1',
      region: 'us-east-1',
    }),
    { mode: 0o600 },
  );
  const c = resolveStoreConfig({ BPOFLOW_HOME: home });
  assert.equal(c.port, 9100);
  assert.equal(c.bucket, 'bk1');
  assert.equal(c.secretKey, SECRET);
  mkdirSync(path.join(dir, '.bpoflow'));
  writeFileSync(
    path.join(dir, '.bpoflow', 's3.json'),
    JSON.stringify({ endpoint: 'http://localhost:9200', accessKey: 'a', secretKey: 'b', bucket: 'bk2' }),
  );
  const d = resolveStoreConfig({}, { cwd: dir });
  assert.equal(d.endPoint, 'localhost');
  assert.equal(d.bucket, 'bk2');
  assert.equal(d.region, 'us-east-1');
});

test('config: nothing configured -> clear error mentioning bpoflow up and the variables', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bpoflow-cfg-'));
  assert.throws(
    () => resolveStoreConfig({}, { cwd: dir }),
    (e: unknown) =>
      e instanceof StoreConfigError && /bpoflow up/.test(e.message) && /BPOFLOW_S3_ENDPOINT/.test(e.message),
  );
  writeFileSync(path.join(dir, 'bad.json'), '{');
  mkdirSync(path.join(dir, 'h'));
  writeFileSync(path.join(dir, 'h', 's3.json'), '{"endpoint":"http://x:1"}');
  assert.throws(() => resolveStoreConfig({ BPOFLOW_HOME: path.join(dir, 'h') }), /missing or invalid "accessKey"/);
});

test('credentials never appear in JSON, inspect, toString, template strings or store output', () => {
  const c = resolveStoreConfig(env);
  const outputs = [
    JSON.stringify(c),
    inspect(c),
    inspect(c, { showHidden: true, depth: 5 }),
    String(c),
    `${c}`,
    format('%o %O %j', c, c, c),
    JSON.stringify({ ...c }),
    Object.keys(c).join(','),
    inspect(new ArtifactStore(c), { depth: 5 }),
    JSON.stringify(new ArtifactStore(c).config),
    inspect({ nested: { store: new ArtifactStore(c) } }, { depth: 10 }),
  ];
  for (const o of outputs) {
    assert.ok(!o.includes(SECRET), `secret leaked in: ${o}`);
    assert.ok(!o.includes(ACCESS), `access key leaked in: ${o}`);
  }
  assert.match(JSON.stringify(c), /\[REDACTED\]/);
  assert.equal(c.redact(`bad signature for ${ACCESS} with ${SECRET}`), 'bad signature for [REDACTED] with [REDACTED]');
  assert.ok(c instanceof StoreConfig);
});

test('config: endpoint with embedded credentials is refused without echoing them', () => {
  assert.throws(
    () => resolveStoreConfig({ ...env, BPOFLOW_S3_ENDPOINT: `http://u:${SECRET}@host:1` }),
    (e: unknown) => e instanceof StoreConfigError && !e.message.includes(SECRET),
  );
});
