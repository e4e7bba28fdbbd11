// `bpoflow worker`: one process serving the workflow queue and the step queues
// it is told to. SIGINT/SIGTERM drain it: running activities finish or are
// handed back before it exits.
import { existsSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import { cacheLookup, cacheRecord, resolveChannels } from '../activities/control.js';
import { mergeShards, runStep } from '../activities/run-step.js';
import { registeredKinds } from '../activities/registry.js';
import { createLogger } from '../activities/log.js';
import { connectWorker, describeTarget, temporalConnectConfig, WORKFLOW_QUEUE } from './connect.js';
import { selectBackend } from '../ml/backend.js';
import { bundlePath, workflowsPath } from './bundle-workflows.js';

export interface WorkerOptions {
  queues: string[];
  backend: 'auto' | 'wasm' | 'cpu' | 'tensorflow';
  /** Concurrent step activities per queue, e.g. {gpu: 1}. */
  concurrency: Record<string, number>;
  workflows: boolean;
}

const DEFAULT_CONCURRENCY: Record<string, number> = { cpu: 2, gpu: 1 };

export async function runWorker(opts: WorkerOptions): Promise<void> {
  const log = createLogger({ component: 'worker', pid: process.pid });
  // Steps call selectBackend() with no preference: they inherit this one (and so
  // does any process a step starts), so `--backend wasm` holds even where tfjs-node is installed.
  process.env.BPOFLOW_BACKEND = opts.backend;
  const backend = await selectBackend(opts.backend);
  // An explicit `--backend tensorflow` is a promise about where the kernels run
  // (usually a GPU): fail before connecting rather than serve on wasm/cpu.
  // `auto` is the one that falls back.
  if (opts.backend === 'tensorflow' && backend.name !== 'tensorflow') {
    throw new Error(
      `--backend tensorflow: native TensorFlow is not available (${backend.reason.replace(/; (wasm|falling back).*$/, '')}). ` +
        'Build and link it with `bash infra/native-tf.sh --gpu --link` (@tensorflow/tfjs-node-gpu, CUDA 11 from PyPI) or `bash infra/native-tf.sh --link` (@tensorflow/tfjs-node; see docs/deploy.md), ' +
        'or start the worker with --backend auto to fall back to wasm/cpu',
    );
  }
  // The device line answers "did I get the GPU?": "GPU <name>" or "CPU only: <why>".
  log.info('tensor backend selected', { backend: backend.name, device: backend.device, reason: backend.reason });
  const { connection, namespace } = await connectWorker();
  log.info('connected to Temporal', { target: describeTarget(temporalConnectConfig()) });

  const workers: Worker[] = [];
  if (opts.workflows) {
    workers.push(
      await Worker.create({
        connection,
        namespace,
        taskQueue: WORKFLOW_QUEUE,
        // The build's prebundled code when present; webpack at start-up otherwise.
        ...(existsSync(bundlePath())
          ? { workflowBundle: { codePath: bundlePath() } }
          : { workflowsPath: workflowsPath() }),
        activities: { cacheLookup, cacheRecord, resolveChannels },
        maxConcurrentActivityTaskExecutions: 16,
      }),
    );
  }
  for (const queue of opts.queues) {
    workers.push(
      await Worker.create({
        connection,
        namespace,
        taskQueue: queue,
        activities: { runStep, mergeShards },
        maxConcurrentActivityTaskExecutions: opts.concurrency[queue] ?? DEFAULT_CONCURRENCY[queue] ?? 2,
        // On SIGTERM, give running steps time to finish before their activities are handed back.
        shutdownGraceTime: '30s',
        // Heartbeats carry live progress and metrics (`bpoflow watch`): send them every few
        // seconds, not at the SDK's default of up to 60 s (0.8 × the heartbeat timeout).
        maxHeartbeatThrottleInterval: '2s',
        defaultHeartbeatThrottleInterval: '2s',
      }),
    );
  }
  log.info('worker ready', {
    workflowQueue: opts.workflows ? WORKFLOW_QUEUE : null,
    queues: opts.queues,
    kinds: registeredKinds(),
  });
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  log.info('worker stopped');
}
