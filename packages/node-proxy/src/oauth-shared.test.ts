// Subscription tokens shared by a pool of instances: read-through by generation, one refresh per
// rotation under the lock however the instances interleave, needs_login only when the pool's
// tokens are refused too, and refreshes made while the shared store is away reconciled by
// generation. The token endpoint is a real HTTP server that rotates and refuses spent tokens.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fakeClock, T0_MS, type FakeClock } from '../test/helpers.js';
import { rotatingOAuth, type RotatingOAuth } from '../test/rotating-oauth.js';
import { credentialsFile, type OAuthEntry } from './credentials-file.js';
import { OAuthError, type OAuthCredential } from './oauth.js';
import { refreshDueAt, sharedOAuthCredential, type SharedOAuthRecord, type SharedOAuthTokens } from './oauth-shared.js';

const LIFETIME_MS = 60_000;

/** The shared store in memory, as Redis behaves (newest generation wins, SET NX locks), with an outage switch. */
interface MemoryShared extends SharedOAuthTokens {
  down: boolean;
  readonly records: Map<string, SharedOAuthRecord>;
}

function memoryShared(wrap: <T>(what: string, fn: () => Promise<T>) => Promise<T> = (_what, fn) => fn()): MemoryShared {
  const locks = new Map<string, object>();
  const shared: MemoryShared = {
    down: false,
    records: new Map(),
    read: (account) => wrap('read', async () => (reachable(), shared.records.get(account) ?? null)),
    write: (account, record) =>
      wrap('write', async () => {
        reachable();
        const old = shared.records.get(account);
        if (old !== undefined && old.generation >= record.generation) return old;
        shared.records.set(account, record);
        return null;
      }),
    lock: (account) =>
      wrap('lock', async () => {
        reachable();
        if (locks.has(account)) return null;
        const mine = {};
        locks.set(account, mine);
        return {
          release: async () => {
            if (locks.get(account) === mine) locks.delete(account);
          },
        };
      }),
  };
  const reachable = (): void => {
    if (shared.down) throw new Error('connect ECONNREFUSED');
  };
  return shared;
}

let oauth: RotatingOAuth;
let clock: FakeClock;
let dir: string;
beforeAll(async () => {
  clock = fakeClock();
  oauth = await rotatingOAuth({ lifetimeMs: LIFETIME_MS, now: () => clock.now() });
  dir = await mkdtemp(join(tmpdir(), 'shunt-oauth-shared-'));
});
afterAll(async () => {
  await oauth.close();
});

interface Instance {
  readonly credential: OAuthCredential;
  readonly needsLogin: string[];
}

let serial = 0;
/** The credentials' periodic looks, fired by the tests when they move the clock (`tick()`). */
let ticks: Array<() => void> = [];
const tick = (): void => {
  for (const fn of ticks) fn();
};
function instance(shared: SharedOAuthTokens, seed: OAuthEntry, account = 'max'): Instance {
  const needsLogin: string[] = [];
  serial += 1;
  const credential = sharedOAuthCredential({
    account,
    entry: seed,
    file: credentialsFile(join(dir, `credentials-${serial}.json`)),
    shared,
    tokenUrl: oauth.tokenUrl,
    clientId: 'test-client',
    now: () => clock.now(),
    onNeedsLogin: (reason) => needsLogin.push(reason),
    confirmMs: 10_000,
    every: (fn) => ticks.push(fn),
  });
  return { credential, needsLogin };
}

const signal = (): AbortSignal => new AbortController().signal;
const fresh = (i: Instance): Promise<void> => i.credential.ensureFresh(signal()) ?? Promise.resolve();
const callsFor = (account: string): { ok: number; refused: number } => {
  const calls = oauth.calls.filter((c) => c.account === account);
  return { ok: calls.filter((c) => c.ok).length, refused: calls.filter((c) => !c.ok).length };
};

describe('refreshDueAt', () => {
  it('should be 5 minutes before expiry for long-lived or unknown tokens, and halfway for short-lived ones', () => {
    expect(refreshDueAt({ expires_at: T0_MS + 8 * 3_600_000 }, T0_MS)).toBe(T0_MS + 8 * 3_600_000 - 300_000);
    expect(refreshDueAt({ expires_at: T0_MS + 60_000 }, null)).toBe(T0_MS + 60_000 - 300_000);
    expect(refreshDueAt({ expires_at: T0_MS + 60_000 }, T0_MS)).toBe(T0_MS + 30_000);
  });
});

describe('sharedOAuthCredential', () => {
  it('should take the rotation another instance made 12 s earlier instead of spending the rotated refresh token', async () => {
    const shared = memoryShared();
    const seed = oauth.login('repro', 1_000); // due at once
    const [first, second] = [instance(shared, seed, 'repro'), instance(shared, seed, 'repro')];
    await fresh(first);
    expect(callsFor('repro')).toEqual({ ok: 1, refused: 0 });
    clock.advance(12_000);
    await fresh(second);
    expect(second.credential.headers()).toBe(second.credential.headers());
    expect(second.credential.headers()['authorization']).toBe(first.credential.headers()['authorization']);
    expect(second.credential.generation()).toBe(2);
    expect(callsFor('repro')).toEqual({ ok: 1, refused: 0 });
    expect([...first.needsLogin, ...second.needsLogin]).toEqual([]);
  });

  it('should make exactly one token call per rotation however three instances interleave', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.integer({ min: 1, max: 3 }), async (s, rounds) => {
        const account = `sched-${String(serial)}`;
        const shared = memoryShared((what, fn) => s.schedule(Promise.resolve(what)).then(fn));
        const seed = oauth.login(account);
        const pool = [instance(shared, seed, account), instance(shared, seed, account), instance(shared, seed, account)];
        for (let round = 0; round < rounds; round++) {
          clock.advance(LIFETIME_MS / 2 + 1); // past the refresh point, before expiry
          await s.waitFor(Promise.all(pool.map(fresh)));
        }
        const { ok, refused } = callsFor(account);
        expect(refused).toBe(0);
        expect(ok).toBe(rounds);
        // Everyone ends on the pool's newest tokens.
        const top = shared.records.get(account);
        expect(top?.generation).toBe(rounds + 1);
        for (const i of pool) expect(i.credential.headers()['authorization']).toBe(`Bearer ${top?.entry.access_token ?? ''}`);
        expect(pool.flatMap((i) => i.needsLogin)).toEqual([]);
      }),
      { numRuns: 20 },
    );
  });

  it('should mark needs_login only once the pool’s tokens are the refused ones and nobody publishes newer ones', async () => {
    const shared = memoryShared();
    const seed = oauth.login('revoked');
    const [a, b] = [instance(shared, seed, 'revoked'), instance(shared, seed, 'revoked')];
    await Promise.all([fresh(a), fresh(b)]); // the seed is due: one rotation, generation 2
    expect(callsFor('revoked')).toEqual({ ok: 1, refused: 0 });
    oauth.login('revoked'); // a login elsewhere: the pool's refresh token is no longer valid
    clock.advance(LIFETIME_MS - 1_000);
    // Refused: not dead yet, and the token that still works is used meanwhile.
    await fresh(a);
    expect(a.needsLogin).toEqual([]);
    expect(callsFor('revoked')).toEqual({ ok: 1, refused: 1 });
    clock.advance(2_000); // expired now: the failure reaches the request, which fails over
    await expect(fresh(b)).rejects.toMatchObject({ permanent: false });
    expect(b.needsLogin).toEqual([]);
    clock.advance(10_000);
    // Still the pool's tokens after the confirmation time: now it is a login that is missing, without another call.
    const before = callsFor('revoked');
    await expect(fresh(a)).rejects.toMatchObject({ permanent: true, code: 'needs_login' });
    expect(a.needsLogin).toHaveLength(1);
    expect(a.needsLogin[0]).toMatch(/invalid_grant/);
    expect(callsFor('revoked')).toEqual(before);
  });

  it('should let a later login in one instance’s file replace refused shared tokens, and only then', async () => {
    const shared = memoryShared();
    const refusedSeed = oauth.login('relogin');
    shared.records.set('relogin', { generation: 4, entry: refusedSeed, obtainedAtMs: null });
    oauth.login('relogin'); // the pool's tokens are refused from now on
    clock.advance(1_000);
    const revived: string[] = [];
    const make = (seed: OAuthEntry, marked: boolean): OAuthCredential =>
      sharedOAuthCredential({
        account: 'relogin',
        entry: seed,
        file: credentialsFile(join(dir, `relogin-${String(++serial)}.json`)),
        shared,
        tokenUrl: oauth.tokenUrl,
        clientId: 'test-client',
        now: () => clock.now(),
        onNeedsLogin: () => {},
        markedNeedsLogin: () => marked,
        onRevived: () => revived.push('revived'),
        every: () => {},
      });
    // An old copy of the refused tokens in a file does not count as a login.
    await make({ ...refusedSeed, refresh_token: 'sk-ant-ort01-old-copy', expires_at: refusedSeed.expires_at - 1 }, true).ensureFresh(signal());
    expect(shared.records.get('relogin')?.generation).toBe(4);
    // Nor does a newer file while the pool has not marked the account.
    const login = oauth.login('relogin', 3_600_000);
    await make(login, false).ensureFresh(signal());
    expect(shared.records.get('relogin')?.generation).toBe(4);
    // A later login while the account is needs_login: published as the next generation, the account revived.
    const credential = make(login, true);
    await credential.ensureFresh(signal());
    expect(shared.records.get('relogin')).toMatchObject({ generation: 5, entry: { refresh_token: login.refresh_token } });
    expect(credential.generation()).toBe(5);
    expect(revived).toEqual(['revived']);
  });

  it('should ride out an outage past the refresh point with the token that still works, then rotate once', async () => {
    const shared = memoryShared();
    const seed = oauth.login('outage');
    const pool = [instance(shared, seed, 'outage'), instance(shared, seed, 'outage'), instance(shared, seed, 'outage')];
    await Promise.all(pool.map(fresh)); // generation 2
    shared.down = true;
    clock.advance(LIFETIME_MS / 2 + 5_000); // refresh due, token valid for 25 s more
    await Promise.all(pool.map(fresh));
    expect(callsFor('outage')).toEqual({ ok: 1, refused: 0 });
    shared.down = false;
    clock.advance(3_000); // past the pause after a failed look
    await Promise.all(pool.map(fresh));
    expect(callsFor('outage')).toEqual({ ok: 2, refused: 0 });
    expect(pool.map((i) => i.credential.generation())).toEqual([3, 3, 3]);
  });

  it('should never turn a refresh refused during an outage into needs_login, and reconcile by generation', async () => {
    const shared = memoryShared();
    const seed = oauth.login('split');
    const [a, b] = [instance(shared, seed, 'split'), instance(shared, seed, 'split')];
    await Promise.all([fresh(a), fresh(b)]); // generation 2
    shared.down = true;
    clock.advance(LIFETIME_MS + 1); // expired during the outage: each instance is on its own
    await fresh(a); // refreshes alone
    await expect(fresh(b)).rejects.toMatchObject({ permanent: false }); // refused (a spent it), and unconfirmable
    expect(callsFor('split')).toEqual({ ok: 2, refused: 1 });
    shared.down = false;
    clock.advance(3_000);
    // b looks first: the pool still holds generation 2, which a spent; b's refusal must not condemn it.
    await expect(fresh(b)).rejects.toMatchObject({ permanent: false });
    expect(b.needsLogin).toEqual([]);
    // a publishes what it made alone as generation 3: it replaced exactly the pool's tokens.
    await fresh(a);
    await vi.waitFor(() => expect(shared.records.get('split')?.generation).toBe(3));
    await fresh(b);
    expect(b.credential.generation()).toBe(3);
    expect(b.credential.headers()['authorization']).toBe(a.credential.headers()['authorization']);
    clock.advance(20_000); // long past the confirmation time: nothing is marked
    expect([...a.needsLogin, ...b.needsLogin]).toEqual([]);
  });

  it('should put the pool’s tokens back when Redis comes back empty', async () => {
    const shared = memoryShared();
    const seed = oauth.login('wiped');
    const [a, b] = [instance(shared, seed, 'wiped'), instance(shared, seed, 'wiped')];
    await Promise.all([fresh(a), fresh(b)]); // generation 2
    clock.advance(LIFETIME_MS / 2 + 1);
    await fresh(a); // generation 3
    shared.records.clear();
    clock.advance(6_000);
    await fresh(a); // not due: a's periodic look puts generation 3 back
    await vi.waitFor(() => expect(shared.records.get('wiped')?.generation).toBe(3));
    await fresh(b);
    expect(b.credential.headers()['authorization']).toBe(a.credential.headers()['authorization']);
    expect(callsFor('wiped')).toEqual({ ok: 2, refused: 0 });
  });

  it('should converge on the live tokens, never marking needs_login, through any sequence of outages, empty restarts and expiries', { timeout: 120_000 }, async () => {
    type Step = { readonly kind: 'advance'; readonly ms: number } | { readonly kind: 'outage' } | { readonly kind: 'recover'; readonly empty: boolean };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1_000, max: 70_000 }) }),
      fc.record({ kind: fc.constant('outage' as const) }),
      fc.record({ kind: fc.constant('recover' as const), empty: fc.boolean() }),
    );
    // Which instances see traffic after each step, in which order, one at a time or all at once.
    const traffic = fc.record({ order: fc.shuffledSubarray([0, 1, 2], { minLength: 3 }), concurrent: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(fc.tuple(step, traffic), { minLength: 1, maxLength: 12 }), async (startDown, steps) => {
        ticks = [];
        const account = `model-${String(serial)}`;
        const shared = memoryShared();
        shared.down = startDown; // instances that never saw the pool's tokens start from their seed
        const seed = oauth.login(account);
        const pool = [instance(shared, seed, account), instance(shared, seed, account), instance(shared, seed, account)];
        // Traffic through every instance after every step; a request may fail over, never hang.
        const request = (i: Instance): Promise<void> => fresh(i).catch((error: unknown) => expect(error).toMatchObject({ permanent: false }));
        const send = async (how: { order: number[]; concurrent: boolean } = { order: [0, 1, 2], concurrent: true }): Promise<void> => {
          const chosen = how.order.map((n) => pool[n] as Instance);
          if (how.concurrent) await Promise.all(chosen.map(request));
          else for (const i of chosen) await request(i);
        };
        await send();
        for (const [s, how] of steps) {
          if (s.kind === 'advance') {
            clock.advance(s.ms);
            tick(); // the periodic looks that were due meanwhile
          }
          else if (s.kind === 'outage') shared.down = true;
          else {
            shared.down = false;
            if (s.empty) shared.records.clear();
          }
          await send(how);
          expect(pool.flatMap((i) => i.needsLogin)).toEqual([]);
        }
        // Redis back for good: within a few rounds of traffic everyone holds the live tokens.
        shared.down = false;
        for (let round = 0; round < 4; round++) {
          clock.advance(3_000);
          tick();
          await send();
          await new Promise((resolve) => setTimeout(resolve, 5)); // background looks settle
        }
        const record = shared.records.get(account);
        expect(record?.entry.refresh_token).toBe(oauth.liveRefreshToken(account));
        for (const i of pool) expect(i.credential.headers()['authorization']).toBe(`Bearer ${record?.entry.access_token ?? ''}`);
        expect(pool.flatMap((i) => i.needsLogin)).toEqual([]);
      }),
      {
        numRuns: 40,
        examples: [
          // A refresh made alone during an outage, put back by an instance that had spent nothing.
          [true, [[{ kind: 'advance', ms: 60_000 }, { order: [1, 2, 0], concurrent: false }]]],
          // Published, then lost to a Redis that came back empty, while another instance waited to confirm a refusal.
          [
            false,
            [
              [{ kind: 'outage' }, { order: [2, 0, 1], concurrent: false }],
              [{ kind: 'advance', ms: 60_000 }, { order: [1, 2, 0], concurrent: false }],
              [{ kind: 'recover', empty: false }, { order: [1, 2, 0], concurrent: false }],
              [{ kind: 'advance', ms: 2_000 }, { order: [0, 2, 1], concurrent: false }],
              [{ kind: 'recover', empty: true }, { order: [0, 2, 1], concurrent: false }],
              [{ kind: 'advance', ms: 10_000 }, { order: [0, 1, 2], concurrent: false }],
              [{ kind: 'outage' }, { order: [2, 0, 1], concurrent: false }],
            ],
          ],
        ],
      },
    );
  });
});
