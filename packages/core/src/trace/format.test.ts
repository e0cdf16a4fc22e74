import { describe, expect, it } from 'vitest';
import { TRACE_COLUMNS, TRACE_COLUMN_FIELDS, TRACE_PREAMBLE, formatTraceRow } from './format.js';

describe('trace format v1', () => {
  it('should start every file with the marker and the header', () => {
    expect(TRACE_PREAMBLE).toBe(
      '# shunt-trace v1\nts,request_id,session,account,model,status,input_tokens,output_tokens,cache_read_tokens,cache_creation_tokens,duration_ms,util_5h,reset_5h,status_5h,util_7d,reset_7d,status_7d,cache_creation_5m_tokens,cache_creation_1h_tokens\n',
    );
    expect(Object.keys(TRACE_COLUMN_FIELDS)).toEqual([...TRACE_COLUMNS]);
  });

  it('should write every field in column order, empty cells for missing ones', () => {
    expect(formatTraceRow({ tsMs: Date.UTC(2026, 0, 5, 9), account: 'work', status: 200 })).toBe('2026-01-05T09:00:00.000Z,,,work,,200,,,,,,,,,,,,,\n');
    expect(
      formatTraceRow({
        tsMs: Date.UTC(2026, 0, 5, 9, 0, 11, 212),
        requestId: 'r2',
        session: 'u1-0',
        account: 'bravo',
        model: 'claude-opus-4-5',
        status: 200,
        inputTokens: 3,
        outputTokens: 188,
        cacheReadTokens: 19_641,
        cacheCreationTokens: 1_602,
        durationMs: 5_120,
        utilization5h: 0.0102,
        reset5hSecs: 1_767_622_811,
        status5h: 'allowed',
        utilization7d: 0.2207,
        reset7dSecs: 1_767_904_620,
        status7d: 'allowed_warning',
        cacheCreation5mTokens: 2,
        cacheCreation1hTokens: 1_600,
      }),
    ).toBe('2026-01-05T09:00:11.212Z,r2,u1-0,bravo,claude-opus-4-5,200,3,188,19641,1602,5120,0.0102,1767622811,allowed,0.2207,1767904620,allowed_warning,2,1600\n');
  });

  it('should quote cells with commas, quotes, line breaks or edge spaces, and write numbers exactly', () => {
    expect(formatTraceRow({ tsMs: 0, session: 'a,"b"' })).toBe('1970-01-01T00:00:00.000Z,,"a,""b""",,,,,,,,,,,,,,,,\n');
    expect(formatTraceRow({ tsMs: 0, model: ' x\ny' })).toContain(',"' + ' x\ny' + '",');
    expect(formatTraceRow({ tsMs: 0, utilization5h: 4e-4, utilization7d: 1 / 3 })).toContain(',0.0004,,,0.3333333333333333,');
  });
});
