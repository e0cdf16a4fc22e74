/**
 * What the quick A/B benchmarks (`bench:cpu`, `bench:ab`) share: the load generator in a process of
 * its own, and asking a bench server (bench/servers.ts) for its CPU time and system calls.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import type { LoadParams, LoadResult } from './load.js';

/**
 * Bundle a bench entry (and the sources it imports) into one ESM file for Node, as tsup builds
 * dist/: without tsx's per-function name-keeping and export getters, which cost measurably per
 * call. `extra` adds or overrides build options (another tree's sources, say).
 */
export async function bundleForNode(entry: string, outfile: string, extra: BuildOptions = {}): Promise<string> {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    conditions: ['@shunt/source'],
    outfile,
    logLevel: 'warning',
    // undici is CommonJS: give the ESM bundle a require().
    banner: { js: "import { createRequire as __shuntRequire } from 'node:module'; const require = __shuntRequire(import.meta.url);" },
    ...extra,
  });
  return outfile;
}

/** The load generator's process. */
export interface Loader {
  /** Run one load and resolve with what it measured. */
  load(params: LoadParams): Promise<LoadResult>;
  /** Stop the process. */
  kill(): void;
}

/** Fork bench/load.ts and wait until it is ready. */
export async function startLoader(): Promise<Loader> {
  const here = dirname(fileURLToPath(import.meta.url));
  const child = fork(join(here, 'load.ts'), [], { execArgv: ['--import', 'tsx', '--conditions=@shunt/source'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  let id = 0;
  return {
    load: (params) =>
      new Promise((resolve) => {
        const my = ++id;
        const on = (m: unknown): void => {
          const x = m as { id?: number; result?: LoadResult };
          if (x.id === my) {
            child.off('message', on);
            resolve(x.result as LoadResult);
          }
        };
        child.on('message', on);
        child.send({ id: my, params });
      }),
    kill: () => void child.kill(),
  };
}

/** A bench server's CPU time so far (user + system, µs) and its read and write system calls (null where unknown). */
export interface ServerUsage {
  readonly micros: number;
  readonly io: { readonly reads: number; readonly writes: number } | null;
  /** Garbage-collection pauses so far: milliseconds in scavenges (young) and in the rest (old), or null. */
  readonly gc: { readonly youngMs: number; readonly oldMs: number; readonly old: number } | null;
}

/** Ask a bench server for its {@link ServerUsage}. */
export function serverUsage(child: ChildProcess): Promise<ServerUsage> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && 'cpu' in m) {
        child.off('message', on);
        const { cpu, io, gc } = m as { cpu: { user: number; system: number }; io?: ServerUsage['io']; gc?: ServerUsage['gc'] };
        resolve({ micros: cpu.user + cpu.system, io: io ?? null, gc: gc ?? null });
      }
    };
    child.on('message', on);
    child.send('cpu');
  });
}
