// xoshiro128** — a tiny, fast, well-tested PRNG whose entire state is four
// uint32s. We use our own generator (not Math.random, not tf.random*) so that
// init, shuffling and sampling are reproducible across runs and backends, and
// so the state can be written into a checkpoint as plain numbers.

export type RngState = [number, number, number, number];

// splitmix32 expands one seed into well-mixed state words; xoshiro must never
// start from an all-zero state.
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s: Uint32Array;
  // Box–Muller yields normals in pairs; cache the spare so the stream is
  // a pure function of the state (the spare is part of the state).
  private spare: number | null = null;

  constructor(seed: number | RngState = 0) {
    this.s = new Uint32Array(4);
    if (typeof seed === 'number') {
      const next = splitmix32(seed);
      for (let i = 0; i < 4; i++) this.s[i] = next();
    } else {
      this.s.set(seed);
    }
    if (this.s.every((word) => word === 0)) this.s[0] = 1;
  }

  /** Derive an independent stream, e.g. one per epoch, without touching this one. */
  static derive(seed: number, ...salt: number[]): Rng {
    let h = seed >>> 0;
    for (const x of salt) h = (Math.imul(h ^ (x >>> 0), 0x01000193) + 0x9e3779b9) >>> 0;
    return new Rng(h);
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  fillNormal(out: Float32Array, std: number): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal() * std;
    return out;
  }

  /** Fisher–Yates permutation of 0..n-1. */
  permutation(n: number): number[] {
    const p = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  getState(): { s: RngState; spare: number | null } {
    return { s: [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!], spare: this.spare };
  }

  setState(st: { s: RngState; spare: number | null }): void {
    this.s.set(st.s);
    this.spare = st.spare;
  }
}
