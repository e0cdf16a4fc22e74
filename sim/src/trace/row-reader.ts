/**
 * @module
 * Reading the cells of one record into a {@link ReadRow}, by the header's plan: from csv-parse's
 * strings, or straight from a plain record's bytes (byte-cells.ts), with the string path deciding
 * every cell the byte readers are unsure of.
 */
import {
  NOT_PLAIN,
  TextCache,
  countFromBytes,
  epochSecsFromBytes,
  httpStatusFromBytes,
  textFromBytes,
  timestampFromBytes,
  utilizationFromBytes,
  windowStatusFromBytes,
} from './byte-cells.js';
import { INVALID, describeInvalid, parseCell } from './cells.js';
import { TRACE_COLUMNS, type CellKind, type TraceColumn, type TraceRecord } from './columns.js';
import type { ReadRow } from './reader.js';

/** How to read one header column's cells. */
export interface CellPlan {
  /** The column's position in the record (0-based). */
  readonly index: number;
  readonly column: TraceColumn;
  readonly field: keyof TraceRecord;
  readonly kind: CellKind;
  /** Where the value waits in {@link RowReader}'s slots: the column's place in TRACE_COLUMNS. */
  readonly slot: number;
}

/** A cell's value, or undefined for an empty cell (a missing value). */
type CellValue = number | string | undefined;

/** The slot of `ts` (TRACE_COLUMNS starts with it). */
const TS_SLOT = 0;

/** Text columns with a handful of distinct values, worth a {@link TextCache}. */
const FEW_VALUES: ReadonlySet<TraceColumn> = new Set<TraceColumn>(['account', 'model']);

/**
 * Reads the cells of a record into a ReadRow, by the header's plan: from csv-parse's strings, or
 * from a plain record's bytes. Either returns the row, or the first bad cell as
 * `"<column>\t<reason>"` (a string is cheaper than an object on the hot path).
 */
export class RowReader {
  private readonly plan: readonly CellPlan[];
  /** Per plan cell: the cache of its column's few values, if it has few. */
  private readonly caches: readonly (TextCache | undefined)[];
  /** The values of the record being read, by slot. */
  private readonly slots: CellValue[] = new Array<CellValue>(TRACE_COLUMNS.length).fill(undefined);
  private readonly tsColumn: number;

  constructor(plan: readonly CellPlan[]) {
    this.plan = plan;
    this.caches = plan.map((cell) => (FEW_VALUES.has(cell.column) ? new TextCache() : undefined));
    this.tsColumn = (plan.find((cell) => cell.column === 'ts') as CellPlan).index + 1;
  }

  fromStrings(record: readonly string[], recordIndex: number): ReadRow | string {
    const plan = this.plan;
    for (let i = 0; i < plan.length; i++) {
      const cell = plan[i] as CellPlan;
      const raw = record[cell.index] as string;
      if (raw === '') continue;
      const problem = this.readString(cell, raw);
      if (problem !== undefined) return problem;
    }
    return this.finishRow(recordIndex);
  }

  fromBytes(buf: Buffer, seps: Int32Array, ascii: boolean, recordIndex: number): ReadRow | string {
    const plan = this.plan;
    for (let i = 0; i < plan.length; i++) {
      const cell = plan[i] as CellPlan;
      const start = (seps[cell.index] as number) + 1;
      const end = seps[cell.index + 1] as number;
      if (start === end) continue;
      const value = this.readBytes(i, cell.kind, buf, start, end, ascii);
      if (value !== undefined) {
        this.slots[cell.slot] = value;
        continue;
      }
      // Not a shape the byte readers know: the string path decides, and words any error.
      const problem = this.readString(cell, textFromBytes(buf, start, end, ascii));
      if (problem !== undefined) return problem;
    }
    return this.finishRow(recordIndex);
  }

  /** A non-empty cell from its bytes, or undefined when only the string path can tell. */
  private readBytes(i: number, kind: CellKind, buf: Buffer, start: number, end: number, ascii: boolean): CellValue {
    let value: number;
    switch (kind) {
      case 'text': {
        const cache = this.caches[i];
        return cache === undefined ? textFromBytes(buf, start, end, ascii) : cache.text(buf, start, end, ascii);
      }
      case 'windowStatus':
        return windowStatusFromBytes(buf, start, end);
      case 'count':
        value = countFromBytes(buf, start, end);
        break;
      case 'timestamp':
        value = timestampFromBytes(buf, start, end);
        break;
      case 'httpStatus':
        value = httpStatusFromBytes(buf, start, end);
        break;
      case 'utilization':
        value = utilizationFromBytes(buf, start, end);
        break;
      case 'epochSecs':
        value = epochSecsFromBytes(buf, start, end);
        break;
    }
    return value === NOT_PLAIN ? undefined : value;
  }

  /** Read a non-empty cell into its slot; the error when it is invalid. */
  private readString(cell: CellPlan, raw: string): string | undefined {
    const value = parseCell(cell.kind, raw);
    if (value === INVALID) {
      this.clear();
      return `${cell.index + 1}\tcolumn "${cell.column}": ${describeInvalid(cell.kind, raw)}`;
    }
    this.slots[cell.slot] = value;
    return undefined;
  }

  private finishRow(recordIndex: number): ReadRow | string {
    if (this.slots[TS_SLOT] === undefined) {
      this.clear();
      return `${this.tsColumn}\tcolumn "ts" is empty: every row needs the time its request started`;
    }
    const row = buildRow(recordIndex, this.slots);
    this.clear();
    return row;
  }

  /** Empty the slots for the next record (only the plan's are ever filled). */
  private clear(): void {
    const plan = this.plan;
    for (let i = 0; i < plan.length; i++) this.slots[(plan[i] as CellPlan).slot] = undefined;
  }
}

/**
 * A ReadRow from values in TRACE_COLUMNS order. One literal with every field present, undefined
 * or not, so all rows share one hidden class.
 */
function buildRow(recordIndex: number, v: readonly CellValue[]): ReadRow {
  return {
    recordIndex,
    tsMs: v[0] as number,
    requestId: v[1] as string | undefined,
    session: v[2] as string | undefined,
    account: v[3] as string | undefined,
    model: v[4] as string | undefined,
    status: v[5] as number | undefined,
    inputTokens: v[6] as number | undefined,
    outputTokens: v[7] as number | undefined,
    cacheReadTokens: v[8] as number | undefined,
    cacheCreationTokens: v[9] as number | undefined,
    durationMs: v[10] as number | undefined,
    utilization5h: v[11] as number | undefined,
    reset5hSecs: v[12] as number | undefined,
    status5h: v[13] as string | undefined,
    utilization7d: v[14] as number | undefined,
    reset7dSecs: v[15] as number | undefined,
    status7d: v[16] as string | undefined,
    cacheCreation5mTokens: v[17] as number | undefined,
    cacheCreation1hTokens: v[18] as number | undefined,
  };
}
