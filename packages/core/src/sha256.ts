/**
 * @module
 * SHA-256 (FIPS 180-4) with lowercase hex output: the platform's native implementation where reachable
 * without a static import, and a pure TypeScript one everywhere else. Both give identical digests.
 */
import { builtinModule } from './platform.js';

/**
 * Lowercase hex SHA-256 of `data` (a string is hashed as its UTF-8 encoding, a lone surrogate as U+FFFD),
 * via `node:crypto` when the runtime exposes it (Node, Bun, Deno), else {@link pureSha256Hex}.
 * @example
 * sha256Hex('abc'); // "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
 */
export function sha256Hex(data: Uint8Array | string): string {
  native ??= resolveNative();
  if (native !== false) return native(data);
  encoder ??= new TextEncoder();
  return pureSha256Hex(typeof data === 'string' ? encoder.encode(data) : data);
}

/** Lowercase hex SHA-256 of `bytes`, always in pure TypeScript (no platform crypto, synchronous). */
export function pureSha256Hex(bytes: Uint8Array): string {
  const state = Int32Array.from(IV);
  const schedule = new Int32Array(64);
  const n = bytes.length;
  const full = n - (n & 63);
  compress(state, schedule, bytes, 0, full);
  // The tail plus padding: 0x80, zeros, then the bit length as a 64-bit big-endian integer.
  const tail = new Uint8Array(128);
  tail.set(bytes.subarray(full));
  tail[n - full] = 0x80;
  const end = n - full < 56 ? 64 : 128;
  const hi = Math.floor(n / 0x20000000);
  const lo = (n * 8) >>> 0;
  tail[end - 8] = hi >>> 24;
  tail[end - 7] = hi >>> 16;
  tail[end - 6] = hi >>> 8;
  tail[end - 5] = hi;
  tail[end - 4] = lo >>> 24;
  tail[end - 3] = lo >>> 16;
  tail[end - 2] = lo >>> 8;
  tail[end - 1] = lo;
  compress(state, schedule, tail, 0, end);
  let hex = '';
  for (let k = 0; k < 8; k++) {
    const v = state[k] as number;
    hex +=
      (HEX_BYTE[(v >>> 24) & 0xff] as string) +
      (HEX_BYTE[(v >>> 16) & 0xff] as string) +
      (HEX_BYTE[(v >>> 8) & 0xff] as string) +
      (HEX_BYTE[v & 0xff] as string);
  }
  return hex;
}

/** Initial hash value H(0): first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

/** Round constants: first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K = /* @__PURE__ */ Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

/** Two lowercase hex digits for each byte value. */
const HEX_BYTE = /* @__PURE__ */ Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

// undefined: not resolved yet; false: no native implementation on this runtime.
let native: ((data: Uint8Array | string) => string) | false | undefined;
// Structural, not `TextEncoder`: the type must not require the DOM lib of whoever compiles this source.
let encoder: { encode(input: string): Uint8Array } | undefined;

/** The digest function of `node:crypto`, or false where the runtime has none. */
function resolveNative(): ((data: Uint8Array | string) => string) | false {
  type Hash = { update(data: Uint8Array | string, encoding?: 'utf8'): Hash; digest(encoding: 'hex'): string };
  const crypto = builtinModule<{
    createHash?: (algorithm: string) => Hash;
    hash?: (algorithm: string, data: Uint8Array | string, outputEncoding: 'hex') => string;
  }>('node:crypto');
  // The one-shot crypto.hash (Node >= 20.12) makes no Hash object: about half the cost on a request's
  // few hundred bytes.
  const hash = crypto?.hash;
  if (typeof hash === 'function') return (data) => hash('sha256', data, 'hex');
  const createHash = crypto?.createHash;
  if (typeof createHash !== 'function') return false;
  // A string goes to update() as is: Node encodes it to UTF-8 natively, without an intermediate copy.
  return (data) => createHash('sha256').update(data, 'utf8').digest('hex');
}

/**
 * Runs the SHA-256 compression function over the 64-byte blocks of `bytes[from, to)`, updating `state`.
 * State lives in locals for the whole run and the message schedule is reused: no allocation per block.
 */
function compress(state: Int32Array, w: Int32Array, bytes: Uint8Array, from: number, to: number): void {
  // Big-endian word reads straight from the input: no copy of the message, whatever its alignment.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let h0 = state[0] as number;
  let h1 = state[1] as number;
  let h2 = state[2] as number;
  let h3 = state[3] as number;
  let h4 = state[4] as number;
  let h5 = state[5] as number;
  let h6 = state[6] as number;
  let h7 = state[7] as number;
  for (let off = from; off < to; off += 64) {
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(off + t * 4, false);
    for (let t = 16; t < 64; t++) {
      const x = w[t - 15] as number;
      const y = w[t - 2] as number;
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[t] = ((w[t - 16] as number) + s0 + (w[t - 7] as number) + s1) | 0;
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let t = 0; t < 64; t++) {
      const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      // Ch(e, f, g) and Maj(a, b, c) in their one-operation-shorter equivalent forms.
      const t1 = (h + s1 + (g ^ (e & (f ^ g))) + (K[t] as number) + (w[t] as number)) | 0;
      const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (s0 + ((a & b) | (c & (a | b)))) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  state[0] = h0;
  state[1] = h1;
  state[2] = h2;
  state[3] = h3;
  state[4] = h4;
  state[5] = h5;
  state[6] = h6;
  state[7] = h7;
}
