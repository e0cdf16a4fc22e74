/**
 * @module
 * A Cloudflare Worker: Hono routes `/v1/*` and `/status` to one Durable Object per pool, which
 * keeps `@shunt/core`'s state in a `memoryStore()` and saves its snapshot to Durable Object
 * storage after every upstream answer. One object serialises the pool's decisions, so every
 * Worker isolate sees the same cooldowns, windows and sticky conversations, and a restart or an
 * eviction picks up where it stopped.
 *
 *   wrangler secret put ACCOUNTS     # [{"name":"work","apiKey":"sk-ant-…"}, …]
 *   wrangler deploy
 */
import { DurableObject } from 'cloudflare:workers';
import { Hono } from 'hono';
import { memoryStore } from '@shunt/core';
import { createGateway, parseAccounts, type Gateway } from './gateway.js';

/** The Worker's bindings (wrangler.json). */
export interface Env {
  readonly POOL: DurableObjectNamespace<Pool>;
  /** A secret: the pooled accounts as JSON. */
  readonly ACCOUNTS: string;
  readonly UPSTREAM_URL?: string;
}

/** One pool's routing state, restored from and saved to Durable Object storage. */
export class Pool extends DurableObject<Env> {
  private readonly store = memoryStore();
  private readonly gateway: Gateway;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Requests wait until the saved state is back, so none is routed on a blank store.
    void ctx.blockConcurrencyWhile(async () => {
      const saved = await ctx.storage.get('store');
      if (saved !== undefined) this.store.restore(saved);
    });
    this.gateway = createGateway({
      accounts: parseAccounts(env.ACCOUNTS),
      store: this.store,
      upstreamUrl: env.UPSTREAM_URL,
      onRecorded: () => ctx.storage.put('store', this.store.snapshot()),
    });
  }

  override fetch(request: Request): Promise<Response> {
    return this.gateway.handle(request);
  }
}

const app = new Hono<{ Bindings: Env }>();
const pool = (env: Env): DurableObjectStub<Pool> => env.POOL.get(env.POOL.idFromName('default'));
app.get('/status', (c) => pool(c.env).fetch(c.req.raw));
app.post('/v1/*', (c) => pool(c.env).fetch(c.req.raw));

export default app;
