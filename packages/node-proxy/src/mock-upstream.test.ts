import { afterEach, describe, expect, it } from 'vitest';
import { createMockUpstream, type MockUpstream } from './mock-upstream.js';

const ACCOUNTS = [{ name: 'a', key: 'key-a' }];
let mock: MockUpstream | null = null;
afterEach(async () => {
  await mock?.close();
  mock = null;
});

async function send(upstream: MockUpstream, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const response = await fetch(`${upstream.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'key-a', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-test', messages: [{ role: 'user', content: `hello ${i}` }] }),
    });
    expect(response.status).toBe(200);
    await response.text();
  }
}

describe('the mock upstream request log', () => {
  it('should keep every request by default', async () => {
    mock = createMockUpstream({ accounts: ACCOUNTS });
    await mock.listen();
    await send(mock, 5);
    expect(mock.requests.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('should keep only the latest requestLog requests, still numbered from the first', async () => {
    mock = createMockUpstream({ accounts: ACCOUNTS, requestLog: 2 });
    await mock.listen();
    await send(mock, 5);
    expect(mock.requests.map((r) => r.seq)).toEqual([4, 5]);
    expect(mock.requests.map((r) => JSON.parse(r.body.toString()).messages[0].content)).toEqual(['hello 3', 'hello 4']);
  });

  it('should keep none with requestLog 0, and still answer', async () => {
    mock = createMockUpstream({ accounts: ACCOUNTS, requestLog: 0 });
    await mock.listen();
    await send(mock, 3);
    expect(mock.requests).toEqual([]);
  });

  it('should refuse a requestLog that is not a number ≥ 0, naming it', () => {
    expect(() => createMockUpstream({ accounts: ACCOUNTS, requestLog: -1 })).toThrow(/requestLog must be a number ≥ 0, got -1/);
    expect(() => createMockUpstream({ accounts: ACCOUNTS, requestLog: Number.NaN })).toThrow(/requestLog/);
  });
});
