// Temporal connection settings: Temporal's own conventions (TEMPORAL_* variables
// and the TOML profile file, through @temporalio/envconfig) win; without them the
// local stack started by `bpoflow up` is used.
import tls from 'node:tls';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { readStackState, stackHome } from '../infra/stack.js';

export { WORKFLOW_QUEUE } from '../workflows/queues.js';

export function temporalConnectConfig(env: NodeJS.ProcessEnv = process.env): ClientConnectConfig {
  const config = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  if (!env.TEMPORAL_ADDRESS && !config.connectionOptions.address) {
    const state = readStackState(stackHome(env));
    if (state) config.connectionOptions.address = state.temporalAddress;
  }
  config.connectionOptions.address ??= '127.0.0.1:7233';
  return config;
}

export function describeTarget(config: ClientConnectConfig): string {
  const tls = config.connectionOptions.tls ? ' (TLS)' : '';
  return `${config.connectionOptions.address}/${config.namespace ?? 'default'}${tls}`;
}

export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const config = temporalConnectConfig(env);
  const connection = await explainFailure(config, () => Connection.connect(config.connectionOptions));
  return new Client({ connection, namespace: config.namespace ?? 'default' });
}

export async function connectWorker(env: NodeJS.ProcessEnv = process.env): Promise<{ connection: NativeConnection; namespace: string }> {
  const config = temporalConnectConfig(env);
  const connection = await explainFailure(config, () => NativeConnection.connect(config.connectionOptions));
  return { connection, namespace: config.namespace ?? 'default' };
}

/**
 * gRPC hides why a TLS connection failed ("deadline exceeded"); a plain TLS
 * handshake to the same address names the certificate problem.
 */
async function explainFailure<T>(config: ClientConnectConfig, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (err) {
    const { address, tls: tlsOptions } = config.connectionOptions;
    const reason = tlsOptions ? await tlsProbe(address!, typeof tlsOptions === 'object' ? tlsOptions : {}) : undefined;
    const message = `cannot connect to Temporal at ${describeTarget(config)}: ${reason ?? (err as Error).message}`;
    throw new Error(message, { cause: err });
  }
}

function tlsProbe(address: string, opts: { serverNameOverride?: string; serverRootCACertificate?: Uint8Array }): Promise<string | undefined> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      servername: opts.serverNameOverride ?? (host.match(/^[0-9.]+$/) ? undefined : host),
      ca: opts.serverRootCACertificate ? [Buffer.from(opts.serverRootCACertificate)] : undefined,
      ALPNProtocols: ['h2'],
      timeout: 5000,
    });
    const done = (why?: string) => {
      socket.destroy();
      resolve(why);
    };
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (e: NodeJS.ErrnoException) => done(`TLS handshake failed: ${e.message}${e.code ? ` (${e.code})` : ''}`));
    socket.once('timeout', () => done('TLS handshake timed out'));
  });
}
