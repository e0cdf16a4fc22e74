import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { AccountStatus, ProxyStatus } from './control.js';
import { BAR_WIDTH, formatCountdown, formatStatus, headroomBar } from './status-view.js';

const NOW_MS = Date.parse('2026-01-05T12:00:00Z');
const nowSecs = NOW_MS / 1000;

function account(overrides: Partial<AccountStatus> & { name: string }): AccountStatus {
  return {
    plan_type: 'max',
    credential: 'api_key',
    status: 'available',
    available: true,
    disabled: false,
    disabled_reason: null,
    cooldown_until_ms: 0,
    utilization_5h: 0,
    reset_5h: null,
    status_5h: null,
    utilization_7d: 0,
    reset_7d: null,
    status_7d: null,
    rate_limit: null,
    ...overrides,
  };
}

function report(accounts: AccountStatus[], extra: Partial<ProxyStatus> = {}): ProxyStatus {
  return {
    version: '1.2.3',
    started_ms: NOW_MS - 60_000,
    strategy: { name: 'maximus', source: 'config' },
    pinned_account: null,
    last_used_account: null,
    in_flight: 2,
    held: 1,
    recording: null,
    pid: 1,
    state: { backend: 'memory', path: null, last_saved_ms: null, last_error: null },
    accounts,
    ...extra,
  };
}

describe('formatStatus', () => {
  const view = formatStatus(
    report(
      [
        account({ name: 'work', utilization_5h: 0.25, reset_5h: nowSecs + 3 * 3600 + 300, utilization_7d: 0.6, reset_7d: nowSecs + 2 * 86_400 }),
        account({ name: 'home', status: 'cooling', available: false, cooldown_until_ms: NOW_MS + 90_000 }),
        account({ name: 'team', status: 'needs_login', available: false, disabled: true, disabled_reason: 'needs_login' }),
      ],
      { pinned_account: 'home', last_used_account: 'work' },
    ),
    { nowMs: NOW_MS },
  );

  it('should show each account with its plan, state and markers', () => {
    expect(view).toContain('work  max  ✓ available  [last used]');
    expect(view).toContain('home  max  ↻ cooling, back in 1m  [pinned]');
    expect(view).toContain('team  max  ✗ needs login: run `shunt login team`, then restart');
    expect(view).toContain('◆ pinned to home');
  });

  it('should draw headroom bars with what is left and a reset countdown', () => {
    expect(view).toContain(`  5h ${'█'.repeat(15)}${'░'.repeat(5)} 75% left  ·  resets in 3h 5m`);
    expect(view).toContain(`  7d ${'█'.repeat(8)}${'░'.repeat(12)} 40% left  ·  resets in 2d 0h`);
  });

  it('should say when an account has no quota data yet', () => {
    expect(view).toContain('home  max');
    expect(view.split('\n').filter((line) => line.includes('no quota data yet'))).toHaveLength(2);
  });

  it('should colour only when asked, and then mark a rejected window', () => {
    expect(view).not.toContain('\u001b[');
    const coloured = formatStatus(
      report([account({ name: 'spent', status: 'exhausted', utilization_5h: 1.01, reset_5h: nowSecs + 600, status_5h: 'rejected' })]),
      { nowMs: NOW_MS, color: true },
    );
    expect(coloured).toContain('\u001b[31mrejected\u001b[0m');
    expect(coloured).toContain('\u001b[31m✗ exhausted, back in 10m\u001b[0m');
  });

  it('should say when an exhausted account is back: the later of its rejected windows and its cooldown', () => {
    const card = (overrides: Partial<AccountStatus>): string =>
      formatStatus(report([account({ name: 'spent', status: 'exhausted', available: false, ...overrides })]), { nowMs: NOW_MS }).split('\n')[2] ?? '';
    // What a 429 for a rejected window leaves: the window, and a cooldown until just after its reset.
    expect(card({ status_5h: 'rejected', reset_5h: nowSecs + 900, cooldown_until_ms: NOW_MS + 901_000 })).toBe('spent  max  ✗ exhausted, back in 15m');
    expect(card({ status_7d: 'exhausted', reset_7d: nowSecs + 2 * 86_400, status_5h: 'rejected', reset_5h: nowSecs + 600 })).toBe('spent  max  ✗ exhausted, back in 2d 0h');
    expect(card({ status_5h: 'allowed', reset_5h: nowSecs + 600 })).toBe('spent  max  ✗ exhausted until its window resets');
  });
});

describe('headroomBar', () => {
  test.prop([fc.double({ min: -2, max: 3, noNaN: true })])('should always fill exactly the bar width, more used means less filled', (u) => {
    const { filled, empty } = headroomBar(u);
    expect(filled + empty).toBe(BAR_WIDTH);
    expect(filled).toBeGreaterThanOrEqual(0);
    expect(headroomBar(Math.min(3, u + 0.1)).filled).toBeLessThanOrEqual(filled);
  });
});

describe('formatCountdown', () => {
  it('should pick the two largest units', () => {
    expect([formatCountdown(-5), formatCountdown(45_000), formatCountdown(12 * 60_000), formatCountdown(3_900_000), formatCountdown(2 * 86_400_000 + 4 * 3_600_000)]).toEqual([
      '0s',
      '45s',
      '12m',
      '1h 5m',
      '2d 4h',
    ]);
  });
});
