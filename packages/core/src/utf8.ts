/**
 * @module
 * UTF-8 validation for `fingerprint`'s byte input, native (simdutf in Node) where the platform offers it.
 *
 * The Rust shunt parses bytes, so a body that is not valid UTF-8 is not JSON to it, wherever the bad
 * byte is; the scanner itself only looks at ASCII structure, so this check runs first.
 */
import { builtinModule } from './platform.js';

/** The part of `node:buffer` used here. */
interface NodeBuffer {
  readonly isUtf8?: (bytes: Uint8Array) => boolean;
}

/**
 * `bytes` as a plain Uint8Array (the same memory) if they are well-formed UTF-8 (no overlong forms,
 * surrogates or code points above U+10FFFF, exactly what `TextDecoder` with `fatal` accepts), else null.
 */
export function validUtf8(bytes: Uint8Array): Uint8Array | null {
  const plain = plainBytes(bytes);
  const native = nodeBuffer().isUtf8;
  return (native === undefined ? isUtf8Portable(plain) : native(plain)) ? plain : null;
}

/** `bytes` as a plain Uint8Array (a view, never a copy): a Buffer or other subclass would make the scanners' element loads polymorphic. */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Pure TypeScript UTF-8 validation, for runtimes without `node:buffer`; exported for tests. */
export function isUtf8Portable(bytes: Uint8Array): boolean {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const last = n - 4;
  let i = 0;
  while (i < n) {
    // Bodies are mostly ASCII: test four bytes at a time and jump to the first one >= 0x80.
    while (i <= last) {
      const high = view.getInt32(i, true) & 0x80808080;
      if (high !== 0) {
        i += (31 - Math.clz32(high & -high)) >> 3;
        break;
      }
      i += 4;
    }
    if (i >= n) return true;
    const c = bytes[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c < 0xc2) return false;
    if (c < 0xe0) {
      if (i + 1 >= n || ((bytes[i + 1] as number) & 0xc0) !== 0x80) return false;
      i += 2;
      continue;
    }
    if (c < 0xf0) {
      if (i + 2 >= n) return false;
      const c1 = bytes[i + 1] as number;
      // E0 needs A0..BF next (no overlongs); ED needs 80..9F (no surrogates).
      if ((c1 & 0xc0) !== 0x80 || (c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 > 0x9f)) return false;
      if (((bytes[i + 2] as number) & 0xc0) !== 0x80) return false;
      i += 3;
      continue;
    }
    if (c < 0xf5) {
      if (i + 3 >= n) return false;
      const c1 = bytes[i + 1] as number;
      // F0 needs 90..BF next (no overlongs); F4 needs 80..8F (nothing above U+10FFFF).
      if ((c1 & 0xc0) !== 0x80 || (c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 > 0x8f)) return false;
      if (((bytes[i + 2] as number) & 0xc0) !== 0x80 || ((bytes[i + 3] as number) & 0xc0) !== 0x80) return false;
      i += 4;
      continue;
    }
    return false;
  }
  return true;
}

let nodeBufferModule: NodeBuffer | undefined;

/** `node:buffer` when reachable, else an empty stand-in; resolved once. */
function nodeBuffer(): NodeBuffer {
  return (nodeBufferModule ??= builtinModule<NodeBuffer>('node:buffer') ?? {});
}
