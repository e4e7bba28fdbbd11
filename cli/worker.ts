// `bpoflow worker`: one process serving the workflow queue and the step queues
// it is told to. SIGINT/SIGTERM drain it: running activities finish or are
// handed back before it exits.
import { existsSync } from 'node:fs';
import { Worker } from '@temporalio/worker';
import * as control from '../activities/control.js';
import { mergeShards, runStep } from '../activities/run-step.js';
import { setComputeBackend } from '../activities/compute-host.js';
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
  const backend = await selectBackend(opts.backend);
  // An explicit `--backend tensorflow` is a promise about where the kernels run
  // (usually a GPU): fail before connecting rather than serve on wasm/cpu.
  // `auto` is the one that falls back.
  if (opts.backend === 'tensorflow' && backend.name !== 'tensorflow') {
    throw new Error(
      `--backend tensorflow: native TensorFlow is not available (${backend.reason.replace(/; (wasm|falling back).*$/, '')}). ` +
        'Install @tensorflow/tfjs-node-gpu (CUDA 11.x + cuDNN 8) or @tensorflow/tfjs-node next to bpoflow (see docs/deploy.md), ' +
        'or start the worker with --backend auto to fall back to wasm/cpu',
    );
  }
  log.info('tensor backend selected', { backend: backend.name, reason: backend.reason });
  // Steps compute in processes of their own (activities/compute-host.ts); they select the same backend.
  setComputeBackend(opts.backend);
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
        ...(existsSync(bundlePath()) ? { workflowBundle: { codePath: bundlePath() } } : { workflowsPath: workflowsPath() }),
        activities: control,
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
  log.info('worker ready', { workflowQueue: opts.workflows ? WORKFLOW_QUEUE : null, queues: opts.queues, kinds: registeredKinds() });
  await Promise.all(workers.map((w) => w.run()));
  await connection.close();
  log.info('worker stopped');
}
