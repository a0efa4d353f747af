/** mulberry32: a small seeded generator of numbers in [0, 1), so examples are reproducible. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `build` with `Math.random` replaced by a generator seeded with `seed`, then restores it.
 * tfjs's initializers draw their seeds from `Math.random` when given none, so a model built
 * inside gets the same initial weights every time.
 */
export function withSeededRandom<T>(seed: number, build: () => T): T {
  const original = Math.random;
  Math.random = random(seed * 0x9e3779b1 + 1);
  try {
    return build();
  } finally {
    Math.random = original;
  }
}
