/**
 * Seeded, splittable pseudo-random generator. Every random draw in the library goes through it.
 *
 * Generator: xoshiro128** (Blackman & Vigna 2018), 32-bit state words, so it is exact in JS.
 * Seeding and splitting: SplitMix32 (a 32-bit variant of Steele, Lea & Flood 2014's SplitMix)
 * hashes a seed (or four parent outputs) into a fresh state. `split()` advances the parent and
 * returns an independent child, so a function handed a child cannot disturb its caller's stream.
 * Same seed, same numbers, bit for bit.
 */
import { DomainError } from './errors.ts';
import { type Matrix64, zeros } from './matrix.ts';

/** Serialisable state: the four xoshiro words and the cached second normal variate, if any. */
export interface RngState {
  readonly words: readonly [number, number, number, number];
  readonly spare: number | null;
}

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

function hashString(s: string): number {
  // FNV-1a, 32 bit.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | null = null;

  private constructor(words: readonly [number, number, number, number], spare: number | null = null) {
    [this.s0, this.s1, this.s2, this.s3] = words;
    this.spare = spare;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1; // the all-zero state is a fixed point
  }

  /** A generator from an integer seed (any safe integer) or a string key. */
  static fromSeed(seed: number | string): Rng {
    let h: number;
    if (typeof seed === 'string') h = hashString(seed);
    else {
      if (!Number.isSafeInteger(seed)) throw new DomainError('Rng.fromSeed', `seed must be a safe integer, got ${seed}`);
      h = (seed >>> 0) ^ Math.imul(Math.floor(seed / 4294967296) >>> 0, 0x9e3779b1);
    }
    const sm = splitmix32(h);
    return new Rng([sm(), sm(), sm(), sm()]);
  }

  static fromState(state: RngState): Rng {
    const w = state?.words;
    if (!Array.isArray(w) || w.length !== 4 || w.some((x) => !Number.isInteger(x) || x < 0 || x > 0xffffffff)
      || !(state.spare === null || Number.isFinite(state.spare))) {
      throw new DomainError('Rng.fromState', `state must be {words: four uint32, spare: number|null}, got ${JSON.stringify(state)}`);
    }
    return new Rng([w[0], w[1], w[2], w[3]], state.spare);
  }

  /** The state as four uint32 words (JSON-serialisable); restores with `Rng.fromState`. */
  state(): RngState {
    return { words: [this.s0, this.s1, this.s2, this.s3], spare: this.spare };
  }

  /** Next uint32. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 = (this.s2 ^ this.s0) >>> 0;
    this.s3 = (this.s3 ^ this.s1) >>> 0;
    this.s1 = (this.s1 ^ this.s2) >>> 0;
    this.s0 = (this.s0 ^ this.s3) >>> 0;
    this.s2 = (this.s2 ^ t) >>> 0;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), unbiased (rejection on the 32-bit range). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new DomainError('Rng.int', `n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal (Marsaglia polar method; the second variate is cached). */
  normal(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    for (;;) {
      const a = 2 * this.uniform() - 1;
      const b = 2 * this.uniform() - 1;
      const r = a * a + b * b;
      if (r > 0 && r < 1) {
        const f = Math.sqrt((-2 * Math.log(r)) / r);
        this.spare = b * f;
        return a * f;
      }
    }
  }

  /**
   * Fills `out` with standard normals: the same numbers, bit for bit, as `out.length` calls of
   * `normal()`, with the xoshiro state held in local int32 words (about 4x faster than the calls:
   * 3.0 s → 0.8 s for 25 million normals in a CPU profile of two MNIST epochs).
   */
  fillNormal<A extends Float64Array | Float32Array>(out: A): A {
    const n = out.length;
    let i = 0;
    if (n === 0) return out;
    if (this.spare !== null) {
      out[i++] = this.spare;
      this.spare = null;
    }
    // xoshiro128** on signed 32-bit words: xor, shifts, imul and rotations give the same bits as the
    // uint32 arithmetic of nextU32; only the outputs are read unsigned (>>> 5, >>> 6).
    let s0 = this.s0 | 0;
    let s1 = this.s1 | 0;
    let s2 = this.s2 | 0;
    let s3 = this.s3 | 0;
    const u = (): number => {
      let r = Math.imul(s1, 5);
      r = Math.imul((r << 7) | (r >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      return r;
    };
    let spare: number | null = null;
    while (i < n) {
      const a = 2 * (((u() >>> 5) * 67108864 + (u() >>> 6)) / 9007199254740992) - 1;
      const b = 2 * (((u() >>> 5) * 67108864 + (u() >>> 6)) / 9007199254740992) - 1;
      const r = a * a + b * b;
      if (r > 0 && r < 1) {
        const f = Math.sqrt((-2 * Math.log(r)) / r);
        out[i++] = a * f;
        if (i < n) out[i++] = b * f;
        else spare = b * f;
      }
    }
    this.s0 = s0 >>> 0;
    this.s1 = s1 >>> 0;
    this.s2 = s2 >>> 0;
    this.s3 = s3 >>> 0;
    this.spare = spare;
    return out;
  }

  /** An n x d float64 matrix of standard normals, filled row by row. */
  fillNormalMatrix(n: number, d: number): Matrix64 {
    const m = zeros(n, d);
    this.fillNormal(m.data);
    return m;
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    return p;
  }

  /** k distinct values from 0..n-1, uniformly (partial Fisher-Yates on a sparse map), in draw order. */
  sample(n: number, k: number): Int32Array {
    if (!Number.isInteger(k) || k < 0 || k > n) throw new DomainError('Rng.sample', `k must be an integer in [0, n=${n}], got ${k}`);
    const swapped = new Map<number, number>();
    const out = new Int32Array(k);
    for (let i = 0; i < k; i++) {
      const j = i + this.int(n - i);
      const vj = swapped.get(j) ?? j;
      out[i] = vj;
      swapped.set(j, swapped.get(i) ?? i);
    }
    return out;
  }

  /** An independent child generator; advances this generator by four draws. */
  split(): Rng {
    const sm = splitmix32((this.nextU32() ^ rotl(this.nextU32(), 13)) >>> 0);
    const a = this.nextU32();
    const b = this.nextU32();
    return new Rng([(sm() ^ a) >>> 0, sm(), (sm() ^ b) >>> 0, sm()]);
  }

  /** n independent children. */
  splitN(n: number): Rng[] {
    return Array.from({ length: n }, () => this.split());
  }
}
