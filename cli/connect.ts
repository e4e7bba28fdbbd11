// Temporal connection settings: Temporal's own conventions (TEMPORAL_* variables
// and the TOML profile file, through @temporalio/envconfig) win; without them the
// running local stack of the resolved stack home (infra/stack-home.ts) is used. There is
// no silent fallback to 127.0.0.1:7233: that may be some other Temporal entirely.
import tls from 'node:tls';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { describeHome, isAlive, readStackState, resolveStackHome, stackHome } from '../infra/stack.js';

export { WORKFLOW_QUEUE } from '../workflows/queues.js';

export class NoTemporalError extends Error {
  override name = 'NoTemporalError';
}

export interface TargetConfig extends ClientConnectConfig {
  /** Where the address came from, for messages: "from TEMPORAL_ADDRESS", "the local stack in …". */
  origin?: string;
}

export function temporalConnectConfig(env: NodeJS.ProcessEnv = process.env): TargetConfig {
  const config: TargetConfig = loadClientConnectConfig({ overrideEnvVars: env as Record<string, string> });
  if (env.TEMPORAL_ADDRESS) config.origin = 'from --address/TEMPORAL_ADDRESS';
  else if (config.connectionOptions.address) config.origin = 'from the Temporal config profile';
  else {
    const home = resolveStackHome({ env });
    const state = readStackState(home.home);
    const temporal = state?.services.find((s) => s.name === 'temporal');
    if (!state || !temporal || !isAlive(temporal.pid)) {
      const what = !state
        ? 'has no stack'
        : `has a stack that is not running (its Temporal was at ${state.temporalAddress})`;
      throw new NoTemporalError(
        `no Temporal to talk to: the stack home ${describeHome(home)} ${what}. ` +
          'Start it with `bpoflow up`, choose another with --home or BPOFLOW_HOME, or name a server with --address HOST:PORT (or TEMPORAL_ADDRESS).',
      );
    }
    config.connectionOptions.address = state.temporalAddress;
    config.origin = `the local stack in ${describeHome(home)}`;
  }
  return config;
}

/** The run's page in the Temporal UI: BPOFLOW_UI_URL, else the local stack's UI; undefined when neither is known. */
export function uiLink(runId: string): string | undefined {
  const base = process.env.BPOFLOW_UI_URL ?? readStackState(stackHome())?.uiUrl;
  return base
    ? `${base}/namespaces/${process.env.TEMPORAL_NAMESPACE ?? 'default'}/workflows/${encodeURIComponent(runId)}`
    : undefined;
}

export function describeTarget(config: TargetConfig): string {
  const tls = config.connectionOptions.tls ? ' (TLS)' : '';
  return `${config.connectionOptions.address}/${config.namespace ?? 'default'}${tls}`;
}

export async function connectClient(env: NodeJS.ProcessEnv = process.env): Promise<Client> {
  const config = temporalConnectConfig(env);
  const connection = await explainFailure(config, () => Connection.connect(config.connectionOptions));
  return new Client({ connection, namespace: config.namespace ?? 'default' });
}

export async function connectWorker(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ connection: NativeConnection; namespace: string }> {
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
    const origin = (config as TargetConfig).origin ? ` (${(config as TargetConfig).origin})` : '';
    const message = `cannot connect to Temporal at ${describeTarget(config)}${origin}: ${reason ?? (err as Error).message}`;
    throw new Error(message, { cause: err });
  }
}

function tlsProbe(
  address: string,
  opts: { serverNameOverride?: string; serverRootCACertificate?: Uint8Array },
): Promise<string | undefined> {
  const [host, port] = [
    address.slice(0, address.lastIndexOf(':')),
    Number(address.slice(address.lastIndexOf(':') + 1)),
  ];
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
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(`TLS handshake failed: ${e.message}${e.code ? ` (${e.code})` : ''}`),
    );
    socket.once('timeout', () => done('TLS handshake timed out'));
  });
}
