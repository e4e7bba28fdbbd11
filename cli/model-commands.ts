// `bpoflow model init | info | generate | import | export`: models on local paths or s3:// URIs.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { MODEL_PRESETS } from '../ml/model.js';
import { modelGenerate, modelInfo, modelInit } from './local-model.js';
import { ArtifactStore } from '../store/artifacts.js';
import { exportModel, importModelFolder } from './model-import.js';
import { inspectModelFolder } from '../ml/hf-folder.js';

const isUri = (p: string) => p.startsWith('s3://');

/** Runs `body` on a local directory holding the model, fetching it first when it is a URI. */
async function withLocalModel<T>(pathOrUri: string, body: (dir: string) => Promise<T>): Promise<T> {
  if (!isUri(pathOrUri)) return body(pathOrUri);
  const dir = mkdtempSync(join(tmpdir(), 'bpoflow-model-'));
  try {
    const files = await ArtifactStore.fromEnv().readBundle(pathOrUri);
    for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
    return await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function uploadModelDir(dir: string, uri: string): Promise<string> {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) files[name] = readFileSync(join(dir, name));
  const ref = await ArtifactStore.fromEnv().putBundle(uri, files, { kind: 'model' });
  return ref.uri;
}

export function modelCommands(program: Command): void {
  const model = program
    .command('model')
    .description('models: create, import/export Hugging Face folders, inspect, sample');
  model
    .command('init')
    .description('create a randomly initialised GPT-2 model (seeded)')
    // The same default as model.sft's `init.size`, so a model made here matches one a pipeline makes.
    .addOption(new Option('--size <size>', 'preset').choices(MODEL_PRESETS).default('micro'))
    .addOption(new Option('--tokenizer <name>', 'tokenizer').choices(['byte', 'gpt2']).default('byte'))
    .option('--seed <n>', 'init seed', (v) => Number(v), 0)
    .requiredOption('--out <path|uri>', 'local directory or s3:// URI')
    .action(async (opts: { size: string; tokenizer: 'byte' | 'gpt2'; seed: number; out: string }) => {
      const outDir = isUri(opts.out) ? mkdtempSync(join(tmpdir(), 'bpoflow-model-')) : opts.out;
      const res = await modelInit({ size: opts.size, tokenizer: opts.tokenizer, outDir, seed: opts.seed });
      const where = isUri(opts.out) ? await uploadModelDir(outDir, opts.out) : outDir;
      if (isUri(opts.out)) rmSync(outDir, { recursive: true, force: true });
      process.stdout.write(
        `model ${opts.size} (${res.parameterCount.toLocaleString('en-US')} parameters, ${opts.tokenizer} tokenizer) -> ${where}\n`,
      );
    });
  model
    .command('import')
    .description(
      'upload a Hugging Face model folder (config.json, model.safetensors or sharded index, tokenizer files) as a model artifact',
    )
    .argument('<dir>', 'model folder')
    .option('--to <uri>', 'target s3:// URI (default: s3://<bucket>/models/<content hash>/<folder name>)')
    .action(async (dir: string, opts: { to?: string }) => {
      inspectModelFolder(dir); // the folder's problems first, before any store configuration is needed
      const r = await importModelFolder(ArtifactStore.fromEnv(), dir, { uri: opts.to });
      const f = r.folder;
      const left = f.ignored.length ? `; left out: ${f.ignored.join(', ')}` : '';
      process.stdout.write(`${r.uri}${r.uploaded ? '' : ' (already uploaded)'}\n`);
      process.stderr.write(
        `${f.modelType} model, ${f.tensors.length} tensors (${f.weights === 'sharded' ? `${f.files.filter((n) => n.endsWith('.safetensors')).length} shards` : 'model.safetensors'}); files: ${f.files.join(', ')}${left}\n`,
      );
    });
  model
    .command('export')
    .description('write a model artifact as a Hugging Face folder that transformers loads')
    .argument('<uri>', 's3:// model artifact')
    .argument('<dir>', 'output folder')
    .action(async (uri: string, dir: string) => {
      const r = await exportModel(ArtifactStore.fromEnv(), uri, dir);
      for (const n of r.notes) process.stderr.write(`${n}\n`);
      process.stdout.write(`${dir}: ${r.files.join(', ')}\n`);
    });
  model
    .command('info')
    .description('parameter count, tokenizer and architecture of a model')
    .argument('<model>', 'local directory or s3:// URI')
    .option('--json', 'machine-readable output')
    .action(async (m: string, opts: { json?: boolean }) => {
      const info = await withLocalModel(m, (dir) => modelInfo(dir));
      if (opts.json) return void process.stdout.write(JSON.stringify(info, null, 2) + '\n');
      const c = info.config as unknown as Record<string, unknown>;
      process.stdout.write(
        `parameters  ${info.parameterCount.toLocaleString('en-US')}\ntokenizer   ${info.tokenizer}\n` +
          ['n_layer', 'n_head', 'n_embd', 'n_positions', 'vocab_size']
            .map((k) => `${k.padEnd(11)} ${String(c[k])}`)
            .join('\n') +
          '\n',
      );
    });
  model
    .command('generate')
    .description('sample a completion of --prompt (seeded)')
    .argument('<model>', 'local directory or s3:// URI')
    .requiredOption('--prompt <text>', 'prompt')
    .option('--max-tokens <n>', 'new tokens', (v) => Number(v), 64)
    .option('--temperature <t>', 'sampling temperature (0 = greedy)', (v) => Number(v), 0.8)
    .option('--top-k <k>', 'top-k', (v) => Number(v))
    .option('--top-p <p>', 'nucleus top-p', (v) => Number(v))
    .option('--seed <n>', 'sampling seed', (v) => Number(v), 0)
    .option('--stop <s...>', 'stop sequences')
    .action(
      async (
        m: string,
        o: {
          prompt: string;
          maxTokens: number;
          temperature: number;
          topK?: number;
          topP?: number;
          seed: number;
          stop?: string[];
        },
      ) => {
        const text = await withLocalModel(m, (dir) =>
          modelGenerate(dir, o.prompt, {
            maxNewTokens: o.maxTokens,
            temperature: o.temperature,
            topK: o.topK,
            topP: o.topP,
            seed: o.seed,
            stop: o.stop,
          }),
        );
        process.stdout.write(text + '\n');
      },
    );
}
