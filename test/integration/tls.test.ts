// Temporal over TLS, as against Temporal Cloud or a TLS-terminated self-hosted
// frontend. The dev server (Temporal CLI v1.5.1 `server start-dev`) has no TLS
// flags, so a Node TLS terminator (ALPN h2, bytes piped to the dev server's
// plaintext port) is put in front of it; gRPC needs nothing more. Certificates
// come from openssl at test time: a throwaway CA, a server cert for
// localhost/127.0.0.1 and a client cert for mTLS.
//
// A worker and `bpoflow run --wait` connect (1) through TEMPORAL_TLS_* variables
// to a server-TLS endpoint and (2) through a TOML profile (TEMPORAL_CONFIG_FILE +
// TEMPORAL_PROFILE) to an mTLS endpoint; clients without the CA, or without a
// client certificate on the mTLS endpoint, fail with a certificate error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type Server } from 'node:tls';
import type { RunStatus } from '../../workflows/pipeline.js';
import { packageRoot } from '../../spec/package-root.js';
import { bpoflow, startWorker, type WorkerHandle } from '../helpers/worker.js';
import { testClient } from '../helpers/runs.js';

const fixture = join(packageRoot(), 'test', 'fixtures', 'spec', 'sharded-tls.yaml');
const dir = mkdtempSync(join(tmpdir(), 'bpoflow-tls-'));
const pem = (name: string) => join(dir, name);

interface Terminator {
  port: number;
  /** TLS sessions that completed a handshake (and so carried gRPC to the dev server). */
  sessions: number;
  /** Handshakes refused (bad/missing client cert, or the client rejected our cert). */
  refused: string[];
  close(): Promise<void>;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server cert (localhost, 127.0.0.1) and a client cert, all EC P-256, valid for a day. */
function makeCertificates(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=bpoflow test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const leaf = (name: string, cn: string, ext: string) => {
    writeFileSync(pem(`${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
    openssl(['req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    ]);
  };
  leaf('server', 'localhost', 'extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1');
  leaf('client', 'bpoflow-worker', 'extendedKeyUsage=clientAuth');
}

async function startTerminator(targetPort: number, mtls: boolean): Promise<Terminator> {
  const sockets = new Set<Socket>();
  const t: Partial<Terminator> = { sessions: 0, refused: [] };
  const server: Server = createTlsServer(
    {
      key: readFileSync(pem('server.key')),
      cert: readFileSync(pem('server.pem')),
      ALPNProtocols: ['h2'],
      ...(mtls ? { ca: readFileSync(pem('ca.pem')), requestCert: true, rejectUnauthorized: true } : {}),
    },
    (tlsSocket) => {
      t.sessions!++;
      const upstream = connect(targetPort, '127.0.0.1');
      sockets.add(tlsSocket).add(upstream);
      tlsSocket.pipe(upstream).pipe(tlsSocket);
      const drop = () => (tlsSocket.destroy(), upstream.destroy());
      tlsSocket.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    },
  );
  server.on('tlsClientError', (err) => t.refused!.push(err.message));
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.port = (server.address() as { port: number }).port;
  t.close = () =>
    new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    });
  return t as Terminator;
}

const temporalPort = () => Number(process.env.TEMPORAL_ADDRESS!.split(':').at(-1));
let serverTls: Terminator;
let mutualTls: Terminator;
const workers: WorkerHandle[] = [];

before(async () => {
  makeCertificates();
  serverTls = await startTerminator(temporalPort(), false);
  mutualTls = await startTerminator(temporalPort(), true);
});
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await serverTls?.close();
  await mutualTls?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `bpoflow run --wait` on the TLS fixture; the run's final status (read over the plaintext test connection). */
async function runOverTls(env: NodeJS.ProcessEnv): Promise<{ runId: string; status: RunStatus }> {
  const res = await bpoflow(['run', fixture, '--wait'], env);
  assert.equal(res.code, 0, `bpoflow run over TLS failed:\n${res.stdout}\n${res.stderr}`);
  const runId = /^run (\S+)/m.exec(res.stdout)?.[1];
  assert.ok(runId, res.stdout);
  const status = await (await testClient()).workflow.getHandle(runId).query<RunStatus>('status');
  return { runId, status };
}

describe('Temporal over TLS', () => {
  test('TEMPORAL_TLS_* variables: a worker and `bpoflow run` complete a pipeline through a TLS endpoint', async () => {
    const env = {
      TEMPORAL_ADDRESS: `127.0.0.1:${serverTls.port}`,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
    const worker = await startWorker(['--queues', 'tls'], env);
    workers.push(worker);
    assert.match(
      worker.output(),
      new RegExp(`127\\.0\\.0\\.1:${serverTls.port}/default \\(TLS\\)`),
      'the worker logs its TLS target',
    );
    const { status } = await runOverTls(env);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.outputs?.lines, 12);
    assert.equal(
      String(status.outputs?.worker).split(':').at(-1),
      String(worker.proc.pid),
      'the shards ran on the TLS worker',
    );
    assert.ok(serverTls.sessions >= 2, `worker and client should each hold a TLS session, saw ${serverTls.sessions}`);
    console.log(`server TLS: pipeline succeeded over 127.0.0.1:${serverTls.port}; ${serverTls.sessions} TLS sessions`);
  });

  test('without the CA: the worker fails with a certificate error, `bpoflow run` fails', async () => {
    const env = {
      TEMPORAL_ADDRESS: `127.0.0.1:${serverTls.port}`,
      TEMPORAL_TLS: 'true',
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    };
    const [worker, run] = await Promise.all([
      bpoflow(['worker', '--queues', 'tls'], env),
      bpoflow(['run', fixture], env),
    ]);
    console.log(`no CA: worker exit ${worker.code}: ${worker.stderr.trim().split('\n').at(-1)}`);
    console.log(`no CA: run exit ${run.code}: ${run.stderr.trim().split('\n').at(-1)}`);
    assert.equal(worker.code, 1);
    assert.match(
      worker.stderr,
      /certificate|UnknownIssuer|unknown ?issuer/i,
      'the worker names the certificate problem',
    );
    assert.doesNotMatch(worker.stderr, /worker ready/);
    // The TS client (grpc-js) reports only "Failed to connect before the deadline" here; the
    // handshake failure itself shows on the terminator's side.
    assert.equal(run.code, 1);
    assert.match(run.stderr, /bpoflow: .*(certificate|connect)/i);
    assert.ok(serverTls.refused.length > 0, 'the TLS endpoint saw the refused handshakes');
  });

  test('a TOML profile (TEMPORAL_CONFIG_FILE + TEMPORAL_PROFILE) with mTLS: worker and run complete', async () => {
    const config = pem('temporal.toml');
    writeFileSync(
      config,
      [
        '[profile.default]',
        'address = "127.0.0.1:1"',
        '',
        '[profile.staging]',
        `address = "127.0.0.1:${mutualTls.port}"`,
        'namespace = "default"',
        '',
        '[profile.staging.tls]',
        `server_ca_cert_path = "${pem('ca.pem')}"`,
        'server_name = "localhost"',
        `client_cert_path = "${pem('client.pem')}"`,
        `client_key_path = "${pem('client.key')}"`,
        '',
      ].join('\n'),
    );
    // No TEMPORAL_ADDRESS/NAMESPACE: they would override the profile (spawn drops undefined values).
    const env = {
      TEMPORAL_ADDRESS: undefined,
      TEMPORAL_NAMESPACE: undefined,
      TEMPORAL_CONFIG_FILE: config,
      TEMPORAL_PROFILE: 'staging',
    };
    // The TLS worker of the first test also serves `tls`: stop it so this one must run the shards.
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    const worker = await startWorker(['--queues', 'tls'], env);
    workers.push(worker);
    const { status } = await runOverTls(env);
    assert.equal(status.state, 'succeeded');
    assert.equal(
      String(status.outputs?.worker).split(':').at(-1),
      String(worker.proc.pid),
      'the shards ran on the mTLS worker',
    );
    assert.ok(mutualTls.sessions >= 2, `saw ${mutualTls.sessions} mTLS sessions`);

    const noClientCert = await bpoflow(['run', fixture], {
      ...env,
      TEMPORAL_PROFILE: undefined,
      TEMPORAL_CONFIG_FILE: undefined,
      TEMPORAL_ADDRESS: `127.0.0.1:${mutualTls.port}`,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pem('ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    });
    assert.notEqual(noClientCert.code, 0, 'the mTLS endpoint must refuse a client without a certificate');
    assert.ok(
      mutualTls.refused.some((m) => /certificate/i.test(m)),
      `the terminator should log a refused handshake: ${mutualTls.refused}`,
    );
    console.log(
      `mTLS profile: pipeline succeeded; without a client cert: exit ${noClientCert.code}: ${noClientCert.stderr.trim().split('\n').at(-1)}`,
    );
  });
});
