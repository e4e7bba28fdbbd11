// dataset.collect@v1: the rows of every JSONL object under a prefix, optionally
// only those added since a model channel's last promotion — the "new data" of
// a periodic re-alignment run.
import { Channels } from '../../store/channels.js';
import { readJsonl, writeJsonl } from '../../store/datasets.js';
import { recordToJson } from '../../formats/index.js';
import { Type } from '../kind-schema.js';
import { defineKind } from '../step-kind.js';
import { formatArg, onErrorArg } from '../steps/args.js';

export const datasetCollect = defineKind({
  kind: 'dataset.collect',
  version: 'v1',
  description:
    'Gathers the JSONL objects under an S3 prefix into one dataset; with `sinceChannel`, only the objects added ' +
    "since that model channel's last promotion (periodic re-alignment on new data).",
  queue: 'cpu',
  inline: true,
  args: Type.Object(
    {
      prefix: Type.String({ pattern: '^s3://', description: 's3://<bucket>/<prefix>: every *.jsonl object under it' }),
      sinceChannel: Type.Optional(
        Type.String({
          description:
            "only objects newer than this channel's latest promotion (all of them when the channel is empty)",
        }),
      ),
      format: formatArg(),
      onError: onErrorArg(),
    },
    { additionalProperties: false },
  ),
  outputs: {
    data: { type: 'artifact', description: 'the gathered rows, normalized JSONL' },
    objects: { type: 'number', description: 'objects gathered' },
    rows: { type: 'number', description: 'rows gathered' },
    skipped: { type: 'number', description: 'bad rows skipped' },
    since: { type: 'string', description: 'the cut-off time used (ISO 8601), empty when none' },
  },
  async run(ctx, args) {
    const { prefix, sinceChannel } = args;
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
        const stream = await readJsonl(ctx.store, uri, { format: args.format, onError: args.onError, source: uri });
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
});
