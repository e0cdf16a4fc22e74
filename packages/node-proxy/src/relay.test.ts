import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownBody, type BodySource, type OwnedBody } from './relay.js';

// A body's source that only counts what is asked of it: the tests feed the body by hand.
function countingSource(): BodySource & { pauses: number; resumes: number; aborts: number } {
  return {
    pauses: 0,
    resumes: 0,
    aborts: 0,
    pause() {
      this.pauses++;
    },
    resume() {
      this.resumes++;
    },
    abort() {
      this.aborts++;
    },
  };
}

/** How a test drives one body: what it feeds before and while holding, and between the hold and the relay. */
type Script = (body: OwnedBody, source: ReturnType<typeof countingSource>, res: ServerResponse) => Promise<void>;

let server: Server;
let url = '';
let script: Script = async () => {};
beforeAll(async () => {
  server = createServer((_req, res) => {
    const source = countingSource();
    const body = ownBody(source);
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    script(body, source, res).catch((error: unknown) => res.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function fetchText(): Promise<string> {
  const response = await fetch(url);
  return response.text();
}

describe('an owned body held, then relayed', () => {
  it('should relay chunks that arrive after the hold completed, after the opening and in order, without pausing the source', async () => {
    let pauses = -1;
    script = async (body, source, res) => {
      const held = body.hold((chunk) => chunk.toString().includes('content'), 5_000);
      body.data(Buffer.from('opening;'));
      body.data(Buffer.from('content;'));
      // In the same read as the chunk that completed the opening (undici delivers it before any promise job runs).
      body.data(Buffer.from('late;'));
      const verdict = await held;
      expect(verdict.stop).toBe('complete');
      pauses = source.pauses;
      const relayed = body.relay(res, null, new Error('client gone'));
      body.data(Buffer.from('rest;'));
      body.end();
      await relayed;
    };
    expect(await fetchText()).toBe('opening;content;late;rest;');
    expect(pauses).toBe(0);
  });

  it('should end the response when the body ended between the hold and the relay', async () => {
    script = async (body, _source, res) => {
      const held = body.hold((chunk) => chunk.toString().includes('content'), 5_000);
      body.data(Buffer.from('content;'));
      body.data(Buffer.from('tail;'));
      body.end();
      await held;
      await body.relay(res, null, new Error('client gone'));
    };
    expect(await fetchText()).toBe('content;tail;');
  });

  it('should let nothing held after the hold reach anyone once the body is discarded', async () => {
    let aborts = -1;
    let heldAfter = -1;
    script = async (body, source, res) => {
      const held = body.hold((chunk) => chunk.toString().includes('content'), 5_000);
      body.data(Buffer.from('content;'));
      body.data(Buffer.from('late;'));
      await held;
      body.discard();
      body.data(Buffer.from('after;'));
      aborts = source.aborts;
      heldAfter = body.held.length;
      res.end('failed over');
    };
    expect(await fetchText()).toBe('failed over');
    expect(aborts).toBe(1);
    expect(heldAfter).toBe(0);
  });

  // Any cut of a stream into chunks, any chunk completing the opening, any number of chunks arriving
  // between the hold's end and the relay: the client gets every byte once, in order.
  test.prop(
    [
      fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }),
      fc.nat(),
      fc.nat(),
      fc.boolean(),
    ],
    { numRuns: 60 },
  )('should deliver every chunk once and in order, wherever the opening ends', async (chunks, completeAt, lateCount, endBeforeRelay) => {
    const at = completeAt % chunks.length;
    const late = Math.min(lateCount % 4, chunks.length - at - 1);
    script = async (body, _source, res) => {
      let seen = 0;
      const held = body.hold(() => seen++ === at, 5_000);
      for (let i = 0; i <= at + late; i++) body.data(Buffer.from(chunks[i] as string));
      const rest = chunks.slice(at + late + 1);
      if (endBeforeRelay) {
        for (const chunk of rest) body.data(Buffer.from(chunk));
        body.end();
      }
      const verdict = await held;
      expect(verdict.stop).toBe('complete');
      const relayed = body.relay(res, null, new Error('client gone'));
      if (!endBeforeRelay) {
        for (const chunk of rest) body.data(Buffer.from(chunk));
        body.end();
      }
      await relayed;
    };
    expect(await fetchText()).toBe(chunks.join(''));
  });
});
