// model.promote@v1: move a channel's `latest` to a model only when its eval
// metric beats the metric recorded with the channel's current model
// (mode max: higher is better; min: lower). An empty channel, or a current
// promotion that recorded no such metric, always promotes. Promoting the model
// the channel already points at is a no-op that reports promoted (so a retry
// after a crash mid-step is idempotent).
import { Channels } from '../../store/channels.js';
import { StringEnum, Type, withDefault } from '../kind-schema.js';
import { BadInput, defineKind } from '../step-kind.js';

export function beats(candidate: number, current: number | undefined, mode: 'max' | 'min', minDelta = 0): boolean {
  if (current === undefined || !Number.isFinite(current)) return true;
  return mode === 'max' ? candidate > current + minDelta : candidate < current - minDelta;
}

export const modelPromote = defineKind({
  kind: 'model.promote',
  version: 'v1',
  description:
    "Point a model channel's latest at a model only if its eval metric beats the metric recorded with the channel's " +
    'current model (an empty channel always promotes). Set cache: false on the step: the decision depends on the ' +
    "channel's state.",
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      model: Type.String({ pattern: '^s3://', description: 'model artifact to promote' }),
      channel: Type.String({
        pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
        description: 'channel name (models/<channel>/latest)',
      }),
      metric: Type.String({ minLength: 1, description: 'name the metric is recorded under, e.g. accuracy' }),
      value: Type.Number({ description: "this model's value of the metric (usually an eval step's output)" }),
      mode: withDefault(
        StringEnum(['max', 'min'], { description: 'max: higher is better; min: lower is better' }),
        'max',
      ),
      minDelta: withDefault(
        Type.Number({ minimum: 0, description: 'must beat the current value by more than this' }),
        0,
      ),
      metrics: withDefault(
        Type.Unsafe<Record<string, number>>({
          type: 'object',
          additionalProperties: { type: 'number' },
          description: 'extra metrics to record with the promotion',
        }),
        {},
      ),
    },
    { additionalProperties: false },
  ),
  outputs: {
    promoted: { type: 'boolean', description: 'whether the channel now points at this model' },
    channel: { type: 'string', description: 'the channel' },
    model: { type: 'artifact', description: "the channel's latest model after this step" },
    previous: { type: 'string', description: "the channel's model before this step ('' if empty)" },
    seq: { type: 'number', description: "the channel's promotion sequence number after this step" },
    reason: { type: 'string', description: "why it was or wasn't promoted" },
  },
  async run(ctx, a) {
    const { channel, metric, value, mode, minDelta } = a;
    // JSON has no NaN or Infinity, but an upstream output may still be one.
    if (!Number.isFinite(value))
      throw new BadInput(`value of "${metric}" must be a finite number, got ${JSON.stringify(value)}`);
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(a.metrics)) if (Number.isFinite(v)) metrics[k] = v;
    metrics[metric] = value;
    const channels = new Channels(ctx.store);
    const model = await ctx.store.manifest(a.model);
    if (model.kind !== 'model') throw new BadInput(`${a.model} is a ${model.kind} artifact, not a model`);
    const cur = await channels.latest(channel);
    const previous = cur?.modelUri ?? '';
    const currentValue = cur?.metrics?.[metric];
    let promoted: boolean;
    let reason: string;
    let seq = cur?.seq ?? 0;
    if (cur && cur.modelUri === model.uri && cur.sha256 === model.sha256) {
      promoted = true;
      reason = "already the channel's latest";
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
});
