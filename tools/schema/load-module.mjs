// Loads a TypeScript (or JavaScript) module from node 20, which cannot import
// .ts itself: esbuild bundles the file and its relative imports (honouring
// tsconfig `paths`, e.g. `@/db/...`) into one ESM file, leaving packages
// external; the file is written next to the source so those packages resolve
// from the app's own node_modules, imported, then removed.
import { writeFile, rm, access } from 'node:fs/promises';
import { dirname, basename, resolve, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { EdgesyncError } from '../../hosts/wasm/core-base.mjs';

/** An EdgesyncError with one entry (code, path, message). */
export const fail = (code, path, message) => new EdgesyncError([{ code, path, message }]);

/** Imports `file` (.ts, .mts, .js, .mjs) and returns its module namespace. */
export async function loadModule(file) {
  const abs = resolve(file);
  try {
    await access(abs);
  } catch {
    throw fail('file_not_found', file, 'no such file; pass the path of your Drizzle schema module (e.g. ./db/schema.ts)');
  }
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    throw fail('missing_dependency', 'esbuild', 'loading a TypeScript schema needs esbuild: npm install --save-dev esbuild');
  }
  let code;
  try {
    const out = await esbuild.build({
      entryPoints: [abs], bundle: true, packages: 'external', format: 'esm',
      platform: 'node', target: 'node20', write: false, logLevel: 'silent',
    });
    code = out.outputFiles[0].text;
  } catch (e) {
    const m = e.errors?.[0];
    const at = m?.location ? `${m.location.file}:${m.location.line}:${m.location.column}` : file;
    throw fail('load_failed', at, `cannot compile the schema module: ${m?.text ?? e.message}`);
  }
  const tmp = join(dirname(abs), `.${basename(abs)}.edgesync-${randomBytes(4).toString('hex')}.mjs`);
  try {
    await writeFile(tmp, code);
  } catch (e) {
    throw fail('load_failed', file, `cannot write the compiled module next to the schema (${e.code ?? e.message}); the directory must be writable`);
  }
  try {
    return await import(pathToFileURL(tmp).href);
  } catch (e) {
    // Name the user's file, not the compiled copy.
    const first = String(e.message ?? e).split('\n')[0].replaceAll(tmp, abs);
    const why = e.code === 'ERR_MODULE_NOT_FOUND' ? `${first} (install it in your app)` : first;
    throw fail('load_failed', file, `importing the schema module failed: ${why}`);
  } finally {
    await rm(tmp, { force: true });
  }
}
