// What a compute process reports about itself: tensor backend and memory.
import { currentBackend, tensorBytes } from '../ml/index.js';
import type { StepTelemetry } from './contract.js';

const MB = 1024 * 1024;
const round = (x: number) => Math.round(x * 10) / 10;

/** Peak resident memory of this process so far (maxRSS), in MiB. */
export const peakRssMb = (): number => round((process.resourceUsage().maxRSS * 1024) / MB);

export function sampleTelemetry(): StepTelemetry {
  const backend = currentBackend();
  const name = backend?.name ?? 'none';
  const gpu = backend?.device.startsWith('GPU') ?? false;
  return {
    backend: name,
    ...(backend ? { device: backend.device } : {}),
    pid: process.pid,
    rssMb: round(process.memoryUsage.rss() / MB),
    peakRssMb: peakRssMb(),
    ...(gpu ? { gpuMemoryMb: round(tensorBytes() / MB) } : {}),
  };
}
