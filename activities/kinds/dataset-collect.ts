// dataset.collect@v1: the rows of every JSONL object under a prefix, optionally
// only those added since a model channel's last promotion — the "new data" of
// a periodic re-alignment run.
import { Channels } from '../../store/channels.js';
import { readJsonl, recordToJson, writeJsonl, type DatasetFormat, type RowPolicy } from '../../store/datasets.js';
import type { StepKind } from '../step-kind.js';

export const datasetCollect: StepKind = {
  kind: 'dataset.collect',
  version: 'v1',
  inline: true,
  async run(ctx, args) {
    const prefix = String(args.prefix);
    const sinceChannel = args.sinceChannel ? String(args.sinceChannel) : undefined;
    const pointer = sinceChannel ? await new Channels(ctx.store).latest(sinceChannel) : null;
    const since = pointer ? new Date(pointer.promotedAt) : undefined;
    const bucket = new URL(prefix).hostname;
    const keyPrefix = prefix.slice(`s3://${bucket}/`.length);
    const objects = (await ctx.store.list(keyPrefix))
      .filter((o) => o.key.endsWith('.jsonl') && (!since || o.lastModified > since))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
    let skipped = 0;
    const uris = objects.map((o) => `s3://${bucket}/${o.key}`);
    async function* rows() {
      for (const [i, uri] of uris.entries()) {
        const stream = await readJsonl(ctx.store, uri, { format: (args.format ?? 'auto') as DatasetFormat | 'auto', onError: (args.onError ?? 'fail') as RowPolicy, source: uri });
        for await (const r of stream) yield recordToJson(r);
        skipped += stream.report.skipped;
        ctx.progress({ done: i + 1, total: uris.length, unit: 'objects' });
      }
    }
    const ref = await writeJsonl(ctx.store, ctx.outputUri('data.jsonl'), rows(), {
      producer: { runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt },
      inputs: uris,
    });
    ctx.log.info('collected', { objects: uris.length, rows: ref.rows, since: since?.toISOString() ?? null });
    return { data: ref.uri, objects: uris.length, rows: ref.rows, skipped, since: since?.toISOString() ?? '' };
  },
};
