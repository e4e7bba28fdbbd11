// Minimal safetensors codec (https://github.com/huggingface/safetensors):
//   [u64 LE header length N][N bytes JSON header][raw tensor bytes]
// The header maps names to {dtype, shape, data_offsets:[begin,end]} relative
// to the byte buffer, plus an optional "__metadata__" string map. We decode
// F32/F16/BF16 into float32 because that is all the model ever computes in.

export type DType = 'F32' | 'F16' | 'BF16';
export interface NamedTensor {
  shape: number[];
  data: Float32Array;
}
export interface SafetensorsFile {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };
// Guards against reading a multi-GB "header" out of a corrupt length field.
const MAX_HEADER = 100 * 1024 * 1024;

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

export function f32ToF16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  // round-to-nearest-even on the 13 dropped mantissa bits; a carry into the
  // exponent is exactly the right result (including overflow to Inf).
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function bf16ToF32(b: number): number {
  u32buf[0] = (b & 0xffff) << 16;
  return f32buf[0]!;
}

export function f32ToBf16(v: number): number {
  f32buf[0] = v;
  const x = u32buf[0]!;
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // keep NaN a NaN
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  /** Byte range in the data section (which starts at `dataOffset` in the file). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: TensorEntry[];
  metadata: Record<string, string>;
  /** File offset of the data section: 8 + header length. */
  dataOffset: number;
}

/** Bytes needed from the start of a file to parse its header (8 + N), from its first 8 bytes. */
export function headerSize(first8: Uint8Array): number {
  if (first8.byteLength < 8)
    throw new SafetensorsError(`truncated: ${first8.byteLength} bytes, need at least 8 for the header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER))
    throw new SafetensorsError(`bad header length ${n}: exceeds limit of ${MAX_HEADER} bytes`);
  return 8 + Number(n);
}

/**
 * Parse and check the header alone: `buf` holds at least the first
 * headerSize() bytes, `fileSize` is the whole file's size (so a folder can be
 * checked without reading its weights).
 */
export function parseSafetensorsHeader(buf: Uint8Array, fileSize: number = buf.byteLength): SafetensorsHeader {
  const dataOffset = headerSize(buf);
  const hlen = dataOffset - 8;
  if (dataOffset > fileSize || dataOffset > buf.byteLength)
    throw new SafetensorsError(`bad header length ${hlen}: file has only ${fileSize - 8} bytes after the length field`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, dataOffset)));
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw new SafetensorsError('header is not a JSON object');
  const dataBytes = fileSize - dataOffset;
  const metadata: Record<string, string> = {};
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__.${k} must be a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info.dtype !== 'string' || !(info.dtype in BYTES))
      throw new SafetensorsError(
        `tensor "${name}": unknown or unsupported dtype ${JSON.stringify(info.dtype)} (supported: F32, F16, BF16)`,
      );
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0))
      throw new SafetensorsError(`tensor "${name}": invalid shape ${JSON.stringify(info.shape)}`);
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1])
      throw new SafetensorsError(`tensor "${name}": invalid data_offsets ${JSON.stringify(off)}`);
    const dtype = info.dtype as DType;
    const shape = info.shape as number[];
    const [begin, end] = off as [number, number];
    const expected = shape.reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (end - begin !== expected)
      throw new SafetensorsError(
        `tensor "${name}": shape/size mismatch: shape ${JSON.stringify(shape)} ${dtype} needs ${expected} bytes but data_offsets span ${end - begin}`,
      );
    if (end > dataBytes)
      throw new SafetensorsError(
        `truncated: tensor "${name}" ends at byte ${end} but the data section has only ${dataBytes} bytes`,
      );
    entries.push({ name, dtype, shape, begin, end });
  }
  // The format requires the tensors to tile the data section exactly:
  // sorted by offset, each starts where the previous ended.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of entries) {
    if (e.begin < cursor)
      throw new SafetensorsError(
        `overlapping offsets: tensor "${e.name}" starts at ${e.begin} before the previous tensor ends at ${cursor}`,
      );
    if (e.begin > cursor)
      throw new SafetensorsError(`non-contiguous offsets: gap before tensor "${e.name}" (${cursor}..${e.begin})`);
    cursor = e.end;
  }
  if (cursor !== dataBytes)
    throw new SafetensorsError(`data section has ${dataBytes - cursor} trailing bytes not covered by any tensor`);
  return { entries, metadata, dataOffset };
}

export function parseSafetensors(buf: Uint8Array): SafetensorsFile {
  const { entries, metadata, dataOffset } = parseSafetensorsHeader(buf);
  const data = buf.subarray(dataOffset);
  const tensors = new Map<string, NamedTensor>();
  for (const e of entries) {
    const count = (e.end - e.begin) / BYTES[e.dtype];
    const view = new DataView(data.buffer, data.byteOffset + e.begin, e.end - e.begin);
    const out = new Float32Array(count);
    if (e.dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
    else if (e.dtype === 'F16') for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
    else for (let i = 0; i < count; i++) out[i] = bf16ToF32(view.getUint16(i * 2, true));
    tensors.set(e.name, { shape: e.shape, data: out });
  }
  return { tensors, metadata };
}

export function serializeSafetensors(
  tensors: Map<string, NamedTensor> | Record<string, NamedTensor>,
  opts: { metadata?: Record<string, string>; dtype?: DType } = {},
): Uint8Array {
  const dtype = opts.dtype ?? 'F32';
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (opts.metadata && Object.keys(opts.metadata).length) header.__metadata__ = opts.metadata;
  let offset = 0;
  for (const [name, t] of list) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length)
      throw new SafetensorsError(
        `tensor "${name}": shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`,
      );
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + size * BYTES[dtype]] };
    offset += size * BYTES[dtype];
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  // Pad the header with spaces to 8 bytes so the data section is aligned,
  // as the reference implementation does.
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) {
    const padded = new Uint8Array(json.length + pad).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const [, t] of list) {
    if (dtype === 'F32') {
      // Copy through a byte view: little-endian hosts only, which is every Node target.
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
      pos += t.data.byteLength;
    } else {
      const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < t.data.length; i++, pos += 2) dv.setUint16(pos, conv(t.data[i]!), true);
    }
  }
  return out;
}

// ------------------------------------------------------------ sharded checkpoints

/** transformers' name for the index of a sharded checkpoint. */
export const SHARD_INDEX_FILE = 'model.safetensors.index.json';

export interface ShardIndex {
  /** tensor name -> shard file name */
  weightMap: Record<string, string>;
  /** Distinct shard file names, in first-seen order. */
  shards: string[];
}

/** Parse model.safetensors.index.json: `{metadata?, weight_map: {tensor: "model-00001-of-00002.safetensors"}}`. */
export function parseShardIndex(bytes: Uint8Array | string): ShardIndex {
  let j: unknown;
  try {
    j = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
  } catch (e) {
    throw new SafetensorsError(`${SHARD_INDEX_FILE} is not valid JSON: ${(e as Error).message}`);
  }
  const wm = (j as { weight_map?: unknown })?.weight_map;
  if (!wm || typeof wm !== 'object' || Array.isArray(wm))
    throw new SafetensorsError(`${SHARD_INDEX_FILE} has no "weight_map" object`);
  const weightMap: Record<string, string> = {};
  const shards: string[] = [];
  for (const [name, file] of Object.entries(wm as Record<string, unknown>)) {
    // Shard names are plain file names beside the index: never a path out of the folder.
    if (typeof file !== 'string' || !/^[\w.-]+\.safetensors$/.test(file) || file.startsWith('.'))
      throw new SafetensorsError(
        `${SHARD_INDEX_FILE}: tensor "${name}" maps to ${JSON.stringify(file)}, not a .safetensors file name`,
      );
    weightMap[name] = file;
    if (!shards.includes(file)) shards.push(file);
  }
  if (shards.length === 0) throw new SafetensorsError(`${SHARD_INDEX_FILE}: "weight_map" is empty`);
  return { weightMap, shards };
}

/**
 * Every tensor of a sharded checkpoint. Each shard must hold exactly the
 * tensors the index assigns to it, so a stale index or a mixed-up shard fails
 * here rather than loading the wrong weights.
 */
export function parseShardedSafetensors(
  index: ShardIndex,
  shard: (file: string) => Uint8Array | undefined,
): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const file of index.shards) {
    const bytes = shard(file);
    if (!bytes) throw new SafetensorsError(`${SHARD_INDEX_FILE} names shard ${file}, which is missing`);
    let parsed: SafetensorsFile;
    try {
      parsed = parseSafetensors(bytes);
    } catch (e) {
      throw new SafetensorsError(`${file}: ${(e as Error).message}`);
    }
    for (const [name, t] of parsed.tensors) {
      const want = index.weightMap[name];
      if (want !== file)
        throw new SafetensorsError(
          `${file} holds tensor "${name}", which ${SHARD_INDEX_FILE} ${want ? `puts in ${want}` : 'does not list'}`,
        );
      out.set(name, t);
    }
  }
  for (const [name, file] of Object.entries(index.weightMap)) {
    if (!out.has(name))
      throw new SafetensorsError(`${SHARD_INDEX_FILE} puts tensor "${name}" in ${file}, which does not hold it`);
  }
  return out;
}
