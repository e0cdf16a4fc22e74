/**
 * @module
 * The same gateway as a Deno server, its state in memory:
 * `ACCOUNTS='[…]' deno run --allow-net --allow-env src/deno.ts`.
 */
import { memoryStore } from '@shunt/core';
import { createGateway, parseAccounts } from './gateway.ts';

const gateway = createGateway({ accounts: parseAccounts(Deno.env.get('ACCOUNTS')), store: memoryStore(), upstreamUrl: Deno.env.get('UPSTREAM_URL') });
Deno.serve(
  {
    hostname: '127.0.0.1',
    port: Number(Deno.env.get('PORT') ?? 8082),
    onListen: ({ hostname, port }) => console.log(`shunt edge gateway on http://${hostname}:${String(port)}/`),
  },
  (request) => gateway.handle(request),
);
