// Golden transcripts against the WASM build: the inputs GoogleTest replays
// natively (tests/unit/transcript_test.cpp) must give the same bytes here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadCore } from '../../hosts/wasm/core.mjs';

const dir = new URL('../golden/transcripts/', import.meta.url);
const decoder = new TextDecoder();
const encoder = new TextEncoder();

test('server core transcript: WASM output equals the native golden output', async () => {
  // A fresh instance, so server handles and request ids start where the
  // native run starts.
  const core = await loadCore(readFileSync(new URL('../../dist/edgesync_core.wasm', import.meta.url)));
  const { steps } = JSON.parse(readFileSync(new URL('server.in.json', dir), 'utf8'));
  const expected = JSON.parse(readFileSync(new URL('server.out.json', dir), 'utf8'));
  assert.equal(steps.length, expected.length);
  steps.forEach((step, i) => {
    const out = decoder.decode(core.callBytes(step.op, encoder.encode(step.input)));
    assert.equal(out, expected[i], `step ${i} (${step.op}) differs between the native and WASM builds`);
  });
});
