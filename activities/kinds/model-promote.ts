// model.promote@v1: move a channel's `latest` to a model only when its eval
// metric beats the metric recorded with the channel's current model
// (mode max: higher is better; min: lower). An empty channel, or a current
// promotion that recorded no such metric, always promotes. Promoting the model
// the channel already points at is a no-op that reports promoted (so a retry
// after a crash mid-step is idempotent).
import { Channels } from '../../store/channels.js';
import { BadInput, type StepKind } from '../step-kind.js';
import { num } from '../steps/common.js';

export function beats(candidate: number, current: number | undefined, mode: 'max' | 'min', minDelta = 0): boolean {
  if (current === undefined || !Number.isFinite(current)) return true;
  return mode === 'max' ? candidate > current + minDelta : candidate < current - minDelta;
}

export const modelPromote: StepKind = {
  kind: 'model.promote',
  version: 'v1',
  inline: true,
  async run(ctx, a) {
    const channel = String(a.channel);
    const metric = String(a.metric);
    const value = a.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new BadInput(`value of "${metric}" must be a finite number, got ${JSON.stringify(value)}`);
    const mode = (a.mode ?? 'max') as 'max' | 'min';
    const minDelta = num(a.minDelta, 0);
    const extra = (a.metrics ?? {}) as Record<string, unknown>;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(extra)) if (typeof v === 'number' && Number.isFinite(v)) metrics[k] = v;
    metrics[metric] = value;
    const channels = new Channels(ctx.store);
    const model = await ctx.store.manifest(String(a.model));
    if (model.kind !== 'model') throw new BadInput(`${String(a.model)} is a ${model.kind} artifact, not a model`);
    const cur = await channels.latest(channel);
    const previous = cur?.modelUri ?? '';
    const currentValue = cur?.metrics?.[metric];
    let promoted: boolean;
    let reason: string;
    let seq = cur?.seq ?? 0;
    if (cur && cur.modelUri === model.uri && cur.sha256 === model.sha256) {
      promoted = true;
      reason = 'already the channel\'s latest';
    } else if (beats(value, currentValue, mode, minDelta)) {
      const ptr = await channels.promote(channel, model.uri, { metrics, runId: ctx.runId });
      promoted = true;
      seq = ptr.seq;
      reason = cur ? `${metric} ${value} beats ${currentValue ?? '(none recorded)'} (${mode})` : 'empty channel';
    } else {
      promoted = false;
      reason = `${metric} ${value} does not beat ${currentValue} (${mode}${minDelta ? `, minDelta ${minDelta}` : ''})`;
    }
    ctx.log.info('promotion decision', { channel, promoted, reason, model: model.uri, previous });
    ctx.progress({ message: reason });
    return { promoted, channel, model: promoted ? model.uri : previous, previous, seq, reason };
  },
};
