// A small seeded PRNG (sfc32, seeded through splitmix32) with named
// sub-streams: the workload, the faults and the scheduler each draw from their
// own stream, so changing how often one of them draws does not reshuffle the
// others.

function splitmix32(a) {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

function hashString(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A seeded generator: next() in [0, 1), int(n) in [0, n), pick, chance, fork. */
export class Prng {
  constructor(seed, label = '') {
    const mix = splitmix32((Number(seed) >>> 0) ^ hashString(label));
    this.a = mix(); this.b = mix(); this.c = mix(); this.d = mix();
    this.seed = seed;
    this.label = label;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The next 32-bit unsigned integer (sfc32). */
  u32() {
    let { a, b, c, d } = this;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    Object.assign(this, { a, b, c, d });
    return t >>> 0;
  }

  next() { return this.u32() / 4294967296; }
  int(n) { return Math.floor(this.next() * n); }
  range(lo, hi) { return lo + this.int(hi - lo + 1); }
  chance(p) { return p > 0 && this.next() < p; }
  pick(arr) { return arr[this.int(arr.length)]; }

  /** Picks by weight from [[weight, value], …]; null when every weight is 0. */
  weighted(entries) {
    let total = 0;
    for (const [w] of entries) total += w;
    if (total <= 0) return null;
    let x = this.next() * total;
    for (const [w, v] of entries) {
      if ((x -= w) < 0) return v;
    }
    return entries[entries.length - 1][1];
  }

  /** An independent stream named `label` (same seed, same label: same stream). */
  fork(label) { return new Prng(this.seed, `${this.label}/${label}`); }
}
