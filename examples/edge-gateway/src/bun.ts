/**
 * @module
 * The same gateway as a Bun server, its state in memory: `ACCOUNTS='[…]' bun src/bun.ts`.
 */
import { memoryStore } from '@shunt/core';
import { createGateway, parseAccounts } from './gateway.js';

const gateway = createGateway({ accounts: parseAccounts(Bun.env['ACCOUNTS']), store: memoryStore(), upstreamUrl: Bun.env['UPSTREAM_URL'] });
const server = Bun.serve({ hostname: '127.0.0.1', port: Number(Bun.env['PORT'] ?? 8082), fetch: (request) => gateway.handle(request) });
console.log(`shunt edge gateway on ${server.url.href}`);
