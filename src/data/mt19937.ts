import { UserError } from '../errors.js';

/**
 * MT19937 exactly as numpy's legacy `RandomState(seed)` uses it (reference/yinyang.md), so that the
 * canonical Yin-Yang splits and any numpy-seeded experiment reproduce bit for bit.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

/** Plain JSON-able snapshot of the generator, enough to resume a run exactly. */
export interface MT19937State {
  kind: 'mt19937';
  /** The 624-word state vector, unsigned 32-bit integers. */
  key: number[];
  /** Index of the next word to temper (624 means "regenerate first"). */
  pos: number;
  /** numpy's legacy gauss cache: the second value of the last polar pair, if not yet returned. */
  hasGauss: boolean;
  gauss: number;
  /** 32-bit outputs consumed since seeding. */
  consumed: number;
}

export class MT19937 {
  private readonly mt = new Uint32Array(N);
  private pos = N;
  private hasGauss = false;
  private cachedGauss = 0;
  /** Number of 32-bit outputs consumed since seeding (the spec's "outputs consumed"). */
  consumed = 0;

  /** Seed like numpy's `RandomState(seed)` with an integer seed (init_genrand). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new UserError(`seed must be an integer in [0, 4294967295], got ${seed}`);
    }
    this.mt[0] = seed;
    for (let i = 1; i < N; i++) {
      const prev = this.mt[i - 1];
      this.mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0;
    }
  }

  static fromState(state: MT19937State): MT19937 {
    const rng = new MT19937(0);
    rng.setState(state);
    return rng;
  }

  /** Regenerate all 624 words (the standard twist). */
  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & UPPER_MASK) | (mt[(i + 1) % N] & LOWER_MASK);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.pos = 0;
  }

  /** Next tempered 32-bit output, as an unsigned integer. */
  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    this.consumed++;
    return y >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits, from two outputs (numpy's `random_sample`). */
  rand(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * Uniform integer in [0, n), as numpy legacy `randint(n)` does for n <= 2^32: mask one 32-bit output
   * with the smallest all-ones mask >= n-1 and reject values >= n; each try consumes one output.
   * n = 1 returns 0 without consuming anything, as numpy does.
   */
  randint(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new RangeError(`randint: n must be an integer in [1, 2^32], got ${n}`);
    }
    const rng = n - 1;
    if (rng === 0) return 0;
    let mask = rng;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= rng) return v;
    }
  }

  /**
   * Standard normal deviate, numpy legacy `standard_normal` (legacy_gauss): polar Box-Muller, the
   * second value of each pair cached and returned by the next call. Bit-identity with numpy also
   * needs Math.log to round like the C library's log, which V8 does in practice but does not promise.
   */
  gauss(): number {
    if (this.hasGauss) {
      this.hasGauss = false;
      const g = this.cachedGauss;
      this.cachedGauss = 0;
      return g;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.rand() - 1;
      x2 = 2 * this.rand() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * Math.log(r2)) / r2);
    this.cachedGauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  getState(): MT19937State {
    return {
      kind: 'mt19937',
      key: Array.from(this.mt),
      pos: this.pos,
      hasGauss: this.hasGauss,
      gauss: this.cachedGauss,
      consumed: this.consumed,
    };
  }

  /** Restore a snapshot from getState (possibly read back from JSON); checks its shape. */
  setState(state: MT19937State): void {
    const bad = (what: string) => new UserError(`random generator state: ${what}`);
    if (state?.kind !== 'mt19937') throw bad(`kind must be 'mt19937'`);
    const { key, pos, hasGauss, gauss, consumed } = state;
    if (!Array.isArray(key) || key.length !== N) throw bad(`key must be an array of ${N} integers`);
    if (!key.every((k) => Number.isInteger(k) && k >= 0 && k <= 0xffffffff)) {
      throw bad('key entries must be integers in [0, 4294967295]');
    }
    if (!Number.isInteger(pos) || pos < 0 || pos > N) throw bad(`pos must be an integer in [0, ${N}]`);
    if (typeof hasGauss !== 'boolean' || typeof gauss !== 'number' || !Number.isFinite(gauss)) {
      throw bad('hasGauss must be a boolean and gauss a finite number');
    }
    if (!Number.isSafeInteger(consumed) || consumed < 0) throw bad('consumed must be a non-negative integer');
    this.mt.set(key);
    this.pos = pos;
    this.hasGauss = hasGauss;
    this.cachedGauss = gauss;
    this.consumed = consumed;
  }
}
