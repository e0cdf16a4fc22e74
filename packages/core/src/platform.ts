/**
 * @module
 * Opportunistic access to Node's built-in modules without a static `node:` import, so the library keeps
 * running unchanged where they do not exist (browsers, Workers) and uses them where they do (Node >= 20.16,
 * Bun, Deno).
 */

/** The built-in module `id` (e.g. `"node:crypto"`) when the runtime offers `process.getBuiltinModule`, else undefined. */
export function builtinModule<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.(id) as T | undefined;
  } catch {
    // A runtime that has the function but not the module (or forbids it) is the same as neither.
    return undefined;
  }
}
