import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bf16ToF32,
  f16ToF32,
  f32ToBf16,
  f32ToF16,
  parseSafetensors,
  serializeSafetensors,
} from '../../../ml/safetensors.js';

function build(header: Record<string, unknown>, data: Uint8Array, lenOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('round-trips F32 exactly, with metadata', () => {
  const a = { shape: [2, 3], data: new Float32Array([1, -2.5, 3e-8, 1e30, 0, -0]) };
  const b = { shape: [1], data: new Float32Array([Math.PI]) };
  const bytes = serializeSafetensors({ a, b }, { metadata: { format: 'pt' } });
  const hlen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + hlen) % 8, 0, 'data section is 8-byte aligned');
  const f = parseSafetensors(bytes);
  assert.deepEqual(f.metadata, { format: 'pt' });
  assert.deepEqual(f.tensors.get('a')!.shape, [2, 3]);
  assert.deepEqual(Array.from(f.tensors.get('a')!.data), Array.from(a.data));
  assert.deepEqual(Array.from(f.tensors.get('b')!.data), Array.from(b.data));
});

test('F16 decode: known bit patterns', () => {
  assert.equal(f16ToF32(0x3c00), 1);
  assert.equal(f16ToF32(0xc000), -2);
  assert.equal(f16ToF32(0x7bff), 65504);
  assert.equal(f16ToF32(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(f16ToF32(0x3555), 0.333251953125);
  assert.equal(f16ToF32(0x7c00), Infinity);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  assert.equal(f32ToF16(1), 0x3c00);
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(1e6), 0x7c00);
  assert.equal(f32ToF16(2 ** -24), 0x0001);
});

test('BF16 decode: known bit patterns', () => {
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc000), -2);
  assert.equal(bf16ToF32(0x4049), 3.140625);
  assert.equal(bf16ToF32(0x7f80), Infinity);
  assert.equal(f32ToBf16(1), 0x3f80);
  assert.equal(f32ToBf16(Math.PI), 0x4049);
});

test('F16 and BF16 files decode to float32 within their precision', () => {
  const data = new Float32Array([0.1, -1.5, 3.14159, 1000, 6e-5, -0.02]);
  for (const [dtype, rel] of [
    ['F16', 2 ** -11],
    ['BF16', 2 ** -8],
  ] as const) {
    const f = parseSafetensors(serializeSafetensors({ x: { shape: [6], data } }, { dtype }));
    const got = f.tensors.get('x')!.data;
    for (let i = 0; i < data.length; i++)
      assert.ok(Math.abs(got[i]! - data[i]!) <= Math.abs(data[i]!) * rel, `${dtype} ${data[i]} -> ${got[i]}`);
  }
  // A hand-built F16 file: [1, -2] little-endian.
  const raw = build(
    { h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] } },
    new Uint8Array([0x00, 0x3c, 0x00, 0xc0]),
  );
  assert.deepEqual(Array.from(parseSafetensors(raw).tensors.get('h')!.data), [1, -2]);
});

test('rejects a header length beyond the buffer', () => {
  const good = build({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4));
  const bad = build({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4), 10_000n);
  assert.doesNotThrow(() => parseSafetensors(good));
  assert.throws(() => parseSafetensors(bad), /bad header length 10000/);
  assert.throws(() => parseSafetensors(build({}, new Uint8Array(0), 1n << 40n)), /bad header length .*exceeds limit/);
  assert.throws(() => parseSafetensors(new Uint8Array(5)), /truncated/);
});

test('rejects overlapping offsets', () => {
  const f = build(
    { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
    new Uint8Array(12),
  );
  assert.throws(() => parseSafetensors(f), /overlapping offsets: tensor "b"/);
});

test('rejects a truncated buffer', () => {
  const full = serializeSafetensors({ x: { shape: [4], data: new Float32Array(4) } });
  assert.throws(() => parseSafetensors(full.subarray(0, full.length - 3)), /truncated: tensor "x" ends at byte 16/);
});

test('rejects unknown dtype, shape/size mismatch, gaps and bad JSON', () => {
  assert.throws(
    () => parseSafetensors(build({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8))),
    /unknown or unsupported dtype "I64"/,
  );
  assert.throws(
    () => parseSafetensors(build({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))),
    /shape\/size mismatch/,
  );
  assert.throws(
    () => parseSafetensors(build({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8))),
    /non-contiguous/,
  );
  assert.throws(
    () => parseSafetensors(build({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(8))),
    /trailing bytes/,
  );
  const j = new Uint8Array(8 + 3);
  new DataView(j.buffer).setBigUint64(0, 3n, true);
  j.set(new TextEncoder().encode('{x:'), 8);
  assert.throws(() => parseSafetensors(j), /not valid JSON/);
});
