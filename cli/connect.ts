// Temporal connection settings: Temporal's own conventions (TEMPORAL_* variables
// and the TOML profile file, through @temporalio/envconfig) win; without them the
// local stack started by `bpoflow up` is used.
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { readStackState, stackHome } from '../infra/stack.js';

export const WORKFLOW_QUEUE = 'bpoflow';

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
  const connection = await Connection.connect(config.connectionOptions);
  return new Client({ connection, namespace: config.namespace ?? 'default' });
}

export async function connectWorker(env: NodeJS.ProcessEnv = process.env): Promise<{ connection: NativeConnection; namespace: string }> {
  const config = temporalConnectConfig(env);
  const connection = await NativeConnection.connect(config.connectionOptions);
  return { connection, namespace: config.namespace ?? 'default' };
}
