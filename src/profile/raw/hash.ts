// The 32-bit mixing (murmur3's) behind the 64-bit identity of a sample: two
// lanes, each seeded differently. Small functions the index and the sample
// cursor call in their loops.

import type { Int } from './int64.js';

export function mix(h: number, k: number): number {
  let x = Math.imul(k, 0xcc9e2d51);
  x = (x << 15) | (x >>> 17);
  x = Math.imul(x, 0x1b873593);
  let y = h ^ x;
  y = (y << 13) | (y >>> 19);
  return (Math.imul(y, 5) + 0xe6546b64) | 0;
}

export function fmix(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export const SEED_A = 0x2545f491;
export const SEED_B = 0x6b43a9b5;
/**
 * Multipliers of the stack hash: a polynomial over the locations' (already
 * mixed) hashes, cheap enough to fold into the loop that reads the ids.
 * Odd, so each position's term is a bijection of its location's hash.
 */
export const POLY_A = 0x01000193;
export const POLY_B = 0x5bd1e995;

export function hashBytes(buf: Uint8Array, start: number, end: number, seed: number): number {
  let h = seed;
  let i = start;
  for (; i + 4 <= end; i += 4) h = mix(h, buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
  let k = 0;
  for (let s = 0; i < end; i++, s += 8) k |= buf[i]! << s;
  return fmix(mix(mix(h, k), end - start));
}

export function lo32(v: Int): number {
  return typeof v === 'number' ? v % 4294967296 >>> 0 : Number(BigInt.asUintN(32, v));
}

export function hi32(v: Int): number {
  return typeof v === 'number' ? Math.floor(v / 4294967296) >>> 0 : Number(BigInt.asUintN(32, v >> 32n));
}
