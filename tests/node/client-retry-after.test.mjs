// The browser host passes the server's Retry-After to the core, which waits at
// least that long before the next request (the node and workerd hosts send it
// with 503s).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { retryAfterMs } from '../../hosts/client/index.mjs';
import { openClient, waitFor } from '../harness/client.mjs';

const schema = JSON.parse(readFileSync(new URL('../../demo/schema.json', import.meta.url), 'utf8'));

describe('Retry-After', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);

  test('delay-seconds and HTTP-dates become milliseconds', () => {
    assert.equal(retryAfterMs('5', now), 5000);
    assert.equal(retryAfterMs(' 0 ', now), 0);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 12:00:30 GMT', now), 30000);
    assert.equal(retryAfterMs('Thu, 01 Jan 2026 11:00:00 GMT', now), 0, 'a date in the past: retry now');
    assert.equal(retryAfterMs('99999999999999999999', now), Number.MAX_SAFE_INTEGER, 'stays an exact integer');
    for (const none of [null, undefined, '', 'soon', '-5', '1.5']) assert.equal(retryAfterMs(none, now), undefined, String(none));
  });

  for (const [name, header, wait] of [['seconds', '30', 30000], ['an HTTP-date', null, 45000]]) {
    test(`a 503 with Retry-After (${name}) delays the next request that long`, async () => {
      let clock = now;
      const calls = [];
      const fetch = async () => {
        calls.push(clock);
        return new Response(JSON.stringify({ protocol: 1, error: { code: 'unavailable', message: 'down' } }), {
          status: 503,
          headers: { 'content-type': 'application/json', 'retry-after': header ?? new Date(clock + wait).toUTCString() },
        });
      };
      const c = await openClient('http://sync.invalid', schema, 'alice', { fetch, now: () => clock });
      try {
        const s = await waitFor(() => (c.sync.status.nextRetryAt ? c.sync.status : null), { what: 'a scheduled retry' });
        assert.equal(calls.length, 1);
        // The test client's backoff is at most 400 ms: only Retry-After explains a longer wait.
        assert.ok(s.nextRetryAt >= now + wait, `next retry at +${s.nextRetryAt - now} ms, expected >= +${wait}`);
      } finally {
        await c.close();
      }
    });
  }
});
