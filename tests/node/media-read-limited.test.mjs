// readLimited (hosts/server/media/read-limited.mjs), the one body-reading loop
// of every media backend, on web ReadableStreams: the limit exactly, one byte
// over (the stream cancelled, the chunk not handed on), a broken stream and a
// failing consumer. Through the hosts: media*.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLimited } from '../../hosts/server/media/read-limited.mjs';

// A stream of `chunks` that records whether it was cancelled; `fail`: an
// error after them instead of the end.
function source(chunks, fail) {
  const state = { cancelled: false, reason: undefined };
  let i = 0;
  const stream = new ReadableStream({
    pull(c) {
      if (i < chunks.length) c.enqueue(new Uint8Array(chunks[i++]));
      else if (fail) c.error(fail);
      else c.close();
    },
    cancel(reason) { state.cancelled = true; state.reason = reason; },
  });
  return { stream, state };
}

test('reads up to the limit exactly, handing on every chunk in order', async () => {
  const { stream, state } = source([3, 4, 3]);
  const seen = [];
  const r = await readLimited(stream, 10, (c) => { seen.push(c.byteLength); });
  assert.deepEqual(r, { size: 10, tooLarge: false });
  assert.deepEqual(seen, [3, 4, 3]);
  assert.equal(state.cancelled, false);
});

test('one byte over: tooLarge, the stream cancelled, the chunk over the limit not handed on', async () => {
  const { stream, state } = source([3, 4, 4, 5]);
  const seen = [];
  const r = await readLimited(stream, 10, async (c) => { seen.push(c.byteLength); });
  assert.deepEqual(r, { size: 7, tooLarge: true });
  assert.deepEqual(seen, [3, 4]);
  assert.equal(state.cancelled, true);
});

test('a null body reads as empty; a limit of 0 refuses the first byte', async () => {
  assert.deepEqual(await readLimited(null, 5, () => assert.fail('no chunk')), { size: 0, tooLarge: false });
  const { stream } = source([1]);
  assert.deepEqual(await readLimited(stream, 0, () => assert.fail('no chunk')), { size: 0, tooLarge: true });
});

test('a broken stream rejects with its error after the chunks that arrived', async () => {
  const cut = new Error('connection reset');
  const { stream } = source([2, 2], cut);
  const seen = [];
  await assert.rejects(readLimited(stream, 100, (c) => { seen.push(c.byteLength); }), (e) => e === cut);
  assert.deepEqual(seen, [2, 2]);
});

test('a consumer that throws: rejects with its error and cancels the stream', async () => {
  const boom = new Error('storage down');
  const { stream, state } = source([1, 1, 1]);
  let calls = 0;
  await assert.rejects(readLimited(stream, 100, async () => { if (++calls === 2) throw boom; }), (e) => e === boom);
  assert.equal(calls, 2);
  assert.equal(state.cancelled, true);
  assert.equal(state.reason, boom);
});
