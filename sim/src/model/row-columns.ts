/**
 * @module
 * A columnar store of trace rows (typed arrays, one per field): the warm-up keeps the rows it
 * calibrates from here instead of as objects, so holding 100,000 of them costs about 10 MB and
 * nothing for the garbage collector to trace.
 */
import type { ReadRow } from '../trace/reader.js';
import { MODEL_FAMILIES, modelFamily } from './costs.js';

/** Rows by column. Missing numbers are NaN; `account` is an index into `accountNames` or -1. */
export interface RowColumns {
  readonly length: number;
  readonly accountNames: readonly string[];
  readonly tsMs: Float64Array;
  readonly recordIndex: Float64Array;
  /** Index of the warm-up request the row belongs to. */
  readonly request: Int32Array;
  readonly account: Int32Array;
  /** 1 when the status is 2xx or absent (the request was charged). */
  readonly success: Uint8Array;
  /** The HTTP status; NaN when not recorded. */
  readonly status: Float64Array;
  /** 1 when any token column is present. */
  readonly hasTokens: Uint8Array;
  /** Index into MODEL_FAMILIES. */
  readonly family: Uint8Array;
  readonly inputTokens: Float64Array;
  readonly outputTokens: Float64Array;
  readonly cacheReadTokens: Float64Array;
  readonly cacheCreationTokens: Float64Array;
  /** Of `cacheCreationTokens`, the 1-hour writes. */
  readonly cacheCreation1hTokens: Float64Array;
  readonly utilization5h: Float64Array;
  readonly reset5hSecs: Float64Array;
  readonly utilization7d: Float64Array;
  readonly reset7dSecs: Float64Array;
}

/** A growable {@link RowColumns}. */
export interface RowColumnsBuilder {
  /** Append a row of request `request`. */
  push(row: ReadRow, request: number): void;
  /** The rows so far (views onto the current buffers). */
  columns(): RowColumns;
}

const NUMBER_COLUMNS = [
  'tsMs',
  'recordIndex',
  'status',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheCreationTokens',
  'cacheCreation1hTokens',
  'utilization5h',
  'reset5hSecs',
  'utilization7d',
  'reset7dSecs',
] as const;

/** Create an empty store. */
export function createRowColumns(initialCapacity = 1024): RowColumnsBuilder {
  let capacity = initialCapacity;
  let length = 0;
  const accountNames: string[] = [];
  const accountIds = new Map<string, number>();
  const numbers = Object.fromEntries(NUMBER_COLUMNS.map((name) => [name, new Float64Array(capacity)])) as Record<
    (typeof NUMBER_COLUMNS)[number],
    Float64Array
  >;
  let request = new Int32Array(capacity);
  let account = new Int32Array(capacity);
  let success = new Uint8Array(capacity);
  let hasTokens = new Uint8Array(capacity);
  let family = new Uint8Array(capacity);

  const grow = (): void => {
    capacity *= 2;
    for (const name of NUMBER_COLUMNS) numbers[name] = resized(numbers[name], capacity);
    request = resized(request, capacity);
    account = resized(account, capacity);
    success = resized(success, capacity);
    hasTokens = resized(hasTokens, capacity);
    family = resized(family, capacity);
  };

  return {
    push(row, requestIndex) {
      if (length === capacity) grow();
      const i = length++;
      numbers.tsMs[i] = row.tsMs;
      numbers.recordIndex[i] = row.recordIndex;
      request[i] = requestIndex;
      if (row.account === undefined) {
        account[i] = -1;
      } else {
        let id = accountIds.get(row.account);
        if (id === undefined) {
          id = accountNames.length;
          accountNames.push(row.account);
          accountIds.set(row.account, id);
        }
        account[i] = id;
      }
      numbers.status[i] = row.status ?? Number.NaN;
      success[i] = row.status === undefined || (row.status >= 200 && row.status <= 299) ? 1 : 0;
      const tokens =
        row.inputTokens !== undefined ||
        row.outputTokens !== undefined ||
        row.cacheReadTokens !== undefined ||
        row.cacheCreationTokens !== undefined ||
        row.cacheCreation1hTokens !== undefined;
      hasTokens[i] = tokens ? 1 : 0;
      family[i] = MODEL_FAMILIES.indexOf(modelFamily(row.model));
      numbers.inputTokens[i] = row.inputTokens ?? 0;
      numbers.outputTokens[i] = row.outputTokens ?? 0;
      numbers.cacheReadTokens[i] = row.cacheReadTokens ?? 0;
      numbers.cacheCreation1hTokens[i] = row.cacheCreation1hTokens ?? 0;
      numbers.cacheCreationTokens[i] = row.cacheCreationTokens ?? (row.cacheCreation5mTokens ?? 0) + (row.cacheCreation1hTokens ?? 0);
      numbers.utilization5h[i] = row.utilization5h ?? Number.NaN;
      numbers.reset5hSecs[i] = row.reset5hSecs ?? Number.NaN;
      numbers.utilization7d[i] = row.utilization7d ?? Number.NaN;
      numbers.reset7dSecs[i] = row.reset7dSecs ?? Number.NaN;
    },
    columns() {
      const view = <T extends Float64Array | Int32Array | Uint8Array>(array: T): T => array.subarray(0, length) as T;
      return {
        length,
        accountNames,
        tsMs: view(numbers.tsMs),
        recordIndex: view(numbers.recordIndex),
        status: view(numbers.status),
        request: view(request),
        account: view(account),
        success: view(success),
        hasTokens: view(hasTokens),
        family: view(family),
        inputTokens: view(numbers.inputTokens),
        outputTokens: view(numbers.outputTokens),
        cacheReadTokens: view(numbers.cacheReadTokens),
        cacheCreationTokens: view(numbers.cacheCreationTokens),
        cacheCreation1hTokens: view(numbers.cacheCreation1hTokens),
        utilization5h: view(numbers.utilization5h),
        reset5hSecs: view(numbers.reset5hSecs),
        utilization7d: view(numbers.utilization7d),
        reset7dSecs: view(numbers.reset7dSecs),
      };
    },
  };
}

/** Row `i` back as a record (what a deltas-mode pricing pass reads). */
export function rowAt(columns: RowColumns, i: number): ReadRow {
  const account = columns.account[i] as number;
  const value = (array: Float64Array): number | undefined => {
    const v = array[i] as number;
    return Number.isNaN(v) ? undefined : v;
  };
  const hasTokens = columns.hasTokens[i] === 1;
  return {
    recordIndex: columns.recordIndex[i] as number,
    tsMs: columns.tsMs[i] as number,
    account: account === -1 ? undefined : columns.accountNames[account],
    model: MODEL_FAMILIES[columns.family[i] as number],
    status: value(columns.status),
    inputTokens: hasTokens ? (columns.inputTokens[i] as number) : undefined,
    outputTokens: hasTokens ? (columns.outputTokens[i] as number) : undefined,
    cacheReadTokens: hasTokens ? (columns.cacheReadTokens[i] as number) : undefined,
    cacheCreationTokens: hasTokens ? (columns.cacheCreationTokens[i] as number) : undefined,
    cacheCreation1hTokens: hasTokens ? (columns.cacheCreation1hTokens[i] as number) : undefined,
    utilization5h: value(columns.utilization5h),
    reset5hSecs: value(columns.reset5hSecs),
    utilization7d: value(columns.utilization7d),
    reset7dSecs: value(columns.reset7dSecs),
  };
}

function resized<T extends Float64Array | Int32Array | Uint8Array>(array: T, capacity: number): T {
  const next = new (array.constructor as new (length: number) => T)(capacity);
  next.set(array);
  return next;
}
