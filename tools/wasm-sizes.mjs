#!/usr/bin/env node
// Where a WASM module's bytes go: its sections, and its functions' body sizes
// by name, largest first. Names come from the name section, so run it on a
// build linked with --profiling-funcs (docs/performance.md, Tools); the code
// of such a build is the release build's.
//
//   node tools/wasm-sizes.mjs <module.wasm> [--top 40]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const at = args.indexOf('--top');
const top = at < 0 ? 40 : Number(args.splice(at, 2)[1]);
const bytes = readFileSync(args[0]);
let p = 8; // after the magic and the version

/** Reads an unsigned LEB128 at p. */
function leb() {
  let r = 0;
  let shift = 0;
  let b;
  do {
    b = bytes[p++];
    r += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return r;
}

/** Reads a length-prefixed name at p. */
function name() {
  const n = leb();
  p += n;
  return bytes.subarray(p - n, p).toString();
}

/** Skips the limits of a table or memory import. */
function limits() {
  const flags = bytes[p++];
  leb();
  if (flags & 1) leb();
}

const ids = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'];
const sections = [];
const bodies = [];
const names = new Map();
let imported = 0; // imported functions come first in the index space
while (p < bytes.length) {
  const id = bytes[p++];
  const size = leb();
  const end = p + size;
  let label = ids[id] ?? `#${id}`;
  if (id === 0) {
    const custom = name();
    label = `custom:${custom}`;
    while (custom === 'name' && p < end) {
      const sub = bytes[p++];
      const subEnd = leb() + p;
      if (sub === 1) for (let n = leb(); n > 0; n--) names.set(leb(), name());
      p = subEnd;
    }
  } else if (id === 2) {
    for (let n = leb(); n > 0; n--) {
      name();
      name();
      const kind = bytes[p++];
      if (kind === 0) { leb(); imported++; } else if (kind === 1) { p++; limits(); } else if (kind === 2) limits(); else p += 2;
    }
  } else if (id === 10) {
    for (let n = leb(); n > 0; n--) {
      const size = leb();
      bodies.push(size);
      p += size;
    }
  }
  sections.push(`${label}: ${size}`);
  p = end;
}

console.log(`${bytes.length} bytes; sections: ${sections.join(', ')}`);
const rows = bodies.map((size, i) => [size, names.get(i + imported) ?? `function ${i + imported}`]);
rows.sort((a, b) => b[0] - a[0]);
console.log(`code: ${bodies.reduce((a, b) => a + b, 0)} bytes in ${bodies.length} functions; the largest:`);
for (const [size, fn] of rows.slice(0, top)) console.log(`${String(size).padStart(8)}  ${fn.length > 160 ? `${fn.slice(0, 157)}…` : fn}`);
