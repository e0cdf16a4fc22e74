/**
 * @module
 * `--strategy NAME|FILE`: a built-in by name, or a module whose default export is a `Strategy`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { resolveStrategy, strategies, type Strategy } from '@shunt/core';

/** A problem with `--strategy` (the CLI exits with code 2). */
export class StrategyLoadError extends Error {
  override readonly name = 'StrategyLoadError';
}

/** The four built-ins, in report order. */
export function builtInStrategies(): Strategy[] {
  return Object.values(strategies);
}

/** True when the argument names a file rather than a built-in strategy. */
export function isStrategyPath(arg: string): boolean {
  return arg.includes('/') || arg.includes('\\') || /\.(?:[cm]?[jt]s)$/.test(arg);
}

/**
 * Resolve one `--strategy` argument. A path is imported (TypeScript works under `pnpm sim`, which
 * runs through tsx); its default export (or an export named `strategy`) must have a string
 * `name` and a `pick` function.
 */
export async function loadStrategy(arg: string, cwd: string = process.cwd()): Promise<Strategy> {
  if (!isStrategyPath(arg)) {
    try {
      return resolveStrategy(arg);
    } catch (error) {
      throw new StrategyLoadError(`--strategy ${arg}: ${(error as Error).message}`);
    }
  }
  const url = pathToFileURL(resolve(cwd, arg)).href;
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(resolve(cwd, arg)) ? 'no such file' : (error as Error).message;
    throw new StrategyLoadError(`--strategy ${arg}: cannot load the module: ${reason}`);
  }
  const candidate = module['default'] ?? module['strategy'];
  if (!isStrategy(candidate)) {
    throw new StrategyLoadError(
      `--strategy ${arg}: the module's default export must be a Strategy ({ name: string, pick(candidates, context) }), got ${describe(candidate)}`,
    );
  }
  return candidate;
}

function isStrategy(value: unknown): value is Strategy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    (value as { name: string }).name !== '' &&
    typeof (value as { pick?: unknown }).pick === 'function'
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (no default export)';
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
  return typeof value;
}
