// What a model folder is (ml/hf-folder.ts), GPT-2 config keys refused by
// name (ml/config.ts), sharded checkpoints (ml/safetensors.ts), and a
// folder input checked by `bpoflow validate` at its file:line:col.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tensorMismatch } from '../../../ml/model-files.js';
import { ConfigError, fromHfConfigJson } from '../../../ml/config.js';
import { conversionHint, inspectModelFolder } from '../../../ml/hf-folder.js';
import { parseShardedSafetensors, parseShardIndex, serializeSafetensors } from '../../../ml/safetensors.js';
import { loadCatalog, defaultCatalogDir } from '../../../spec/catalog.js';
import { testKindsDir } from '../../kinds/catalog.js';
import { formatProblem, validateFiles } from '../../../spec/validate.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fixtures = path.resolve(here, '../../../../test/fixtures/hf/gpt2');
const tmp = mkdtempSync(path.join(tmpdir(), 'bpoflow-hf-folder-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of a fixture folder, changed by `edit`. */
function folder(from: string, edit: (dir: string) => void = () => {}): string {
  const dir = mkdtempSync(path.join(tmp, `${from}-`));
  cpSync(path.join(fixtures, from), dir, { recursive: true });
  edit(dir);
  return dir;
}
const baseConfig = () =>
  JSON.parse(readFileSync(path.join(fixtures, 'base', 'config.json'), 'utf8')) as Record<string, unknown>;

describe('model folders', () => {
  it('carries config, weights, tokenizer files and generation_config; leaves the rest', () => {
    const f = inspectModelFolder(path.join(fixtures, 'folder'));
    assert.equal(f.modelType, 'gpt2');
    assert.equal(f.weights, 'single');
    assert.deepEqual(f.files, [
      'config.json',
      'model.safetensors',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    assert.deepEqual(f.ignored, ['expected.json']);
    assert.equal(f.tensors.length, 2 + 2 * 12 + 2);
  });

  it('reads a sharded checkpoint from its index', () => {
    const f = inspectModelFolder(path.join(fixtures, 'sharded'));
    assert.equal(f.weights, 'sharded');
    assert.deepEqual(f.files.slice(0, 4), [
      'config.json',
      'model.safetensors.index.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
  });

  it('says plainly when the folder is missing', () => {
    assert.throws(() => inspectModelFolder(path.join(tmp, 'nope')), {
      message: `model folder not found: ${path.join(tmp, 'nope')}`,
    });
  });

  it('refuses a pytorch_model.bin-only folder with the one-line conversion, never unpickling it', () => {
    const dir = folder('base', (d) => {
      rmSync(path.join(d, 'model.safetensors'));
      writeFileSync(path.join(d, 'pytorch_model.bin'), 'not read');
    });
    assert.throws(() => inspectModelFolder(dir), {
      message: `${dir}: has only pytorch_model.bin (a pickle, which bpoflow never loads); convert it to safetensors first:\n  ${conversionHint(dir)}`,
    });
    assert.equal(
      conversionHint('/m'),
      `python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained('/m').save_pretrained('/m', safe_serialization=True)"`,
    );
  });

  it('names a Git LFS pointer, a missing shard, a missing config.json', () => {
    const lfs = folder('base', (d) =>
      writeFileSync(
        path.join(d, 'model.safetensors'),
        'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n',
      ),
    );
    assert.throws(
      () => inspectModelFolder(lfs),
      /model\.safetensors: is a Git LFS pointer, not the weights \(run `git lfs pull`/,
    );
    const shard = folder('sharded', (d) => rmSync(path.join(d, 'model-00002-of-00002.safetensors')));
    assert.throws(() => inspectModelFolder(shard), {
      message: `${shard}: model.safetensors.index.json names 1 missing shard(s): model-00002-of-00002.safetensors`,
    });
    const noCfg = folder('base', (d) => rmSync(path.join(d, 'config.json')));
    assert.throws(() => inspectModelFolder(noCfg), /no config\.json/);
  });

  it('checks the tensors against the config: an untied head needs lm_head.weight', () => {
    const f = inspectModelFolder(path.join(fixtures, 'untied'));
    const cfg = fromHfConfigJson(f.config).config;
    assert.equal(tensorMismatch(cfg, f.tensors), undefined);
    assert.equal(
      tensorMismatch(
        cfg,
        f.tensors.filter((t) => t.name !== 'lm_head.weight'),
      ),
      'missing parameter lm_head.weight (config.json has tie_word_embeddings: false, so the LM head is its own tensor)',
    );
    // A tied config ignores a stored copy of the head.
    assert.equal(tensorMismatch({ ...cfg, tie_word_embeddings: true }, f.tensors), undefined);
  });
});

describe('GPT-2 config keys', () => {
  const refuse = (over: Record<string, unknown>, key: string, message: string) =>
    assert.throws(
      () => fromHfConfigJson({ ...baseConfig(), ...over }),
      (e: unknown) => e instanceof ConfigError && e.key === key && e.message === `config.json: ${message}`,
    );

  it('implements the keys that change the math', () => {
    const { config } = fromHfConfigJson({
      ...baseConfig(),
      n_inner: 24,
      activation_function: 'silu',
      tie_word_embeddings: false,
      scale_attn_weights: false,
      scale_attn_by_inverse_layer_idx: true,
      layer_norm_epsilon: 0.1,
    });
    assert.deepEqual(
      [
        config.n_inner,
        config.activation_function,
        config.tie_word_embeddings,
        config.scale_attn_weights,
        config.scale_attn_by_inverse_layer_idx,
        config.layer_norm_epsilon,
      ],
      [24, 'silu', false, false, true, 0.1],
    );
  });

  it('refuses what it cannot compute, by name', () => {
    refuse(
      { add_cross_attention: true },
      'add_cross_attention',
      'add_cross_attention: true (encoder-decoder cross-attention) is not supported',
    );
  });

  it('refuses an unknown activation with the supported list, and other unsupported settings', () => {
    assert.throws(
      () => fromHfConfigJson({ ...baseConfig(), activation_function: 'xielu' }),
      /^ConfigError: config\.json: activation_function "xielu" is not supported \(supported: gelu_new, gelu_pytorch_tanh, .*, linear\)$/,
    );
    assert.throws(
      () => fromHfConfigJson({ ...baseConfig(), pruned_heads: { 0: [1] } }),
      /pruned_heads: pruned attention heads are not supported/,
    );
    assert.throws(
      () => fromHfConfigJson({ ...baseConfig(), quantization_config: { quant_method: 'gptq' } }),
      /quantization_config: quantized checkpoints are not supported/,
    );
    assert.throws(
      () => fromHfConfigJson({ ...baseConfig(), scale_attn_weights: 'yes' }),
      /"scale_attn_weights" must be true or false, got "yes"/,
    );
    assert.throws(() => fromHfConfigJson({ ...baseConfig(), model_type: 'llama' }), /unsupported model_type "llama"/);
  });

  it('accepts dropout and reorder_and_upcast_attn (no effect on float32 inference or on our dropout-free training)', () => {
    const { config } = fromHfConfigJson({
      ...baseConfig(),
      resid_pdrop: 0.1,
      attn_pdrop: 0.1,
      embd_pdrop: 0.1,
      reorder_and_upcast_attn: true,
    });
    assert.equal(config.n_layer, 2);
  });
});

describe('sharded safetensors', () => {
  const t = (v: number) => ({ shape: [2], data: new Float32Array([v, v]) });
  const a = serializeSafetensors({ x: t(1) });
  const b = serializeSafetensors({ y: t(2) });

  it('merges shards by the index', () => {
    const idx = parseShardIndex(JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'b.safetensors' } }));
    const all = parseShardedSafetensors(idx, (f) => ({ 'a.safetensors': a, 'b.safetensors': b })[f]);
    assert.deepEqual([...all.keys()], ['x', 'y']);
    assert.equal(all.get('y')!.data[0], 2);
  });

  it('refuses a stale index and paths out of the folder', () => {
    const idx = parseShardIndex(JSON.stringify({ weight_map: { x: 'b.safetensors', y: 'a.safetensors' } }));
    assert.throws(
      () => parseShardedSafetensors(idx, (f) => ({ 'a.safetensors': a, 'b.safetensors': b })[f]),
      /b\.safetensors holds tensor "y", which model\.safetensors\.index\.json puts in a\.safetensors/,
    );
    assert.throws(
      () => parseShardIndex(JSON.stringify({ weight_map: { x: '../x.safetensors' } })),
      /maps to "\.\.\/x\.safetensors", not a \.safetensors file name/,
    );
  });
});

describe('a folder as a pipeline input', () => {
  it('validate accepts a model folder and points at a folder that is not one', () => {
    const good = path.join(fixtures, 'base');
    const bad = folder('base', (d) => {
      rmSync(path.join(d, 'model.safetensors'));
      writeFileSync(path.join(d, 'pytorch_model.bin'), 'x');
    });
    const dir = path.join(tmp, 'pipe');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'p.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: bpoflow/v1',
        'kind: Pipeline',
        'metadata:',
        '  name: folder-inputs',
        'inputs:',
        `  good: { path: ${good} }`,
        `  bad: { path: ${bad} }`,
        'steps:',
        '  - id: a',
        '    uses: test.noop@v1',
        '    with: { value: "${{ inputs.good }} ${{ inputs.bad }}" }',
        '',
      ].join('\n'),
    );
    const catalog = loadCatalog(defaultCatalogDir(), [testKindsDir()]);
    const lines = validateFiles([file], catalog).map(formatProblem);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.equal(
      lines[0],
      `${file}:7:16: inputs.bad.path: a folder input must be a model folder: ${bad}: has only pytorch_model.bin (a pickle, which bpoflow never loads); convert it to safetensors first:\n  ${conversionHint(bad)}`,
    );
  });
});
