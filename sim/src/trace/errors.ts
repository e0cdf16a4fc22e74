/**
 * @module
 * The one error type for bad trace input, printed as `file:line:column: message` like a compiler.
 */

/** Where a problem sits in a trace. Line and column are 1-based; either may be unknown. */
export interface TracePosition {
  /** 1-based line in the file (the version marker counts as line 1). */
  readonly line?: number | undefined;
  /** 1-based CSV column (field position in the row). */
  readonly column?: number | undefined;
  /**
   * 0-based index of the data record (rows after the header) the problem is in, when the line is
   * not known yet: the reader resolves it to a line before the error leaves it.
   */
  readonly recordIndex?: number | undefined;
}

/** Bad trace input: the CLI prints `message` and exits with code 2. */
export class TraceError extends Error {
  override readonly name = 'TraceError';
  /** The file, as the user named it. */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line: number | undefined;
  /** 1-based column, when known. */
  readonly column: number | undefined;
  /** 0-based data record index, when the line is still to be resolved. */
  readonly recordIndex: number | undefined;
  /** The message without the `file:line:column:` prefix. */
  readonly reason: string;

  constructor(file: string, position: TracePosition, reason: string) {
    super(formatLocation(file, position.line, position.column) + reason);
    this.file = file;
    this.line = position.line;
    this.column = position.column;
    this.recordIndex = position.recordIndex;
    this.reason = reason;
  }

  /** The same error at a resolved line. */
  withLine(line: number): TraceError {
    return new TraceError(this.file, { line, column: this.column }, this.reason);
  }
}

function formatLocation(file: string, line: number | undefined, column: number | undefined): string {
  if (line === undefined) return `${file}: `;
  return column === undefined ? `${file}:${line}: ` : `${file}:${line}:${column}: `;
}
