/** A source of numbers uniformly distributed in [0, 1). */
export type RandomSource = () => number;

/** mulberry32: a tiny, fast PRNG whose whole state is one 32-bit integer, so runs replay exactly. */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A generator for one named stream derived from a seed. Each fault kind draws from its own stream,
 * so adding, say, latency does not change which requests get a 500.
 */
export function seededStream(seed: number, streamName: string): RandomSource {
  let hash = 0x811c9dc5;
  for (const char of streamName) {
    hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193);
  }
  return mulberry32((seed ^ hash) >>> 0);
}
