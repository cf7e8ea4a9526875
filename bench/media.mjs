// Media throughput (bench/run.mjs calls runMediaBench): a 50 MB file
// (BENCH_QUICK=1: 10 MB) through the node host (its own process, the
// filesystem store in a temp folder, PostgreSQL 15) against copying the same
// file into the same folder directly.
//
// The transfers use node:http (the leanest node client: the figures are the
// host's; undici's fetch adds its own cost on the client side).
//
//   blob_upload_mb_per_s        create + 8 MiB parts streamed from the source
//                               file + complete (hash check, move into place)
//   blob_download_mb_per_s      GET /media/file streamed into a file
//   blob_direct_copy_mb_per_s   the source file streamed into the store's
//                               folder (read + write, 1 MiB chunks: what the
//                               host's own disk work is, without HTTP or hashing)
//   blob_copyfile_mb_per_s      fs.copyFile of the same (kernel copy; for scale)
//   blob_http_baseline_mb_per_s the same file from a bare node:http server (its
//                               own process, createReadStream().pipe(res), no
//                               auth, database or web streams) into a file: what
//                               loopback HTTP itself allows here, for scale
//   ratio_blob_download_to_http_baseline  the host's own download overhead
//   ratio_blob_upload_to_direct, ratio_blob_download_to_direct  (target >= 0.7)
//
// Each figure is the fastest of its rounds (5; quick: 2), the same for all
// three, so that other work on a shared machine skews none of them more than
// another (MB = 10^6 bytes; the stderr line lists every round).
//   node bench/media.mjs [--quick]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startPostgres } from '../tests/harness/postgres.mjs';
import { signDevToken } from '../hosts/server/auth.mjs';

const SECRET = 'bench-secret-bench-secret-bench-secret';
const PART = 8 * 1024 * 1024;
const schema = {
  version: 1,
  tables: [{
    name: 'docs', primaryKey: 'id', owner: 'ownerId',
    columns: [
      { name: 'id', type: 'text' }, { name: 'ownerId', type: 'text' },
      { name: 'video', type: 'blob_ref', media: { maxBytes: 128 * 1024 * 1024, mime: ['video/mp4'] } },
    ],
  }],
};

function log(msg) { process.stderr.write(`bench media: ${msg}\n`); }

// The node host in its own process (the client's work does not share its
// thread); BENCH_MEDIA_CPU_PROF=<dir> writes its CPU profile there.
async function startHost(databaseUrl, dir) {
  const code = `import { startServer } from ${JSON.stringify(new URL('../hosts/node/server.mjs', import.meta.url).href)};
    const s = await startServer({ databaseUrl: ${JSON.stringify(databaseUrl)}, port: 0, poolSize: 4, schema: ${JSON.stringify(schema)},
      auth: { secret: ${JSON.stringify(SECRET)} }, live: false, media: { dir: ${JSON.stringify(dir)} },
      logger: { error: console.error, warn() {}, info() {}, log() {} } });
    process.stdout.write(s.url + '\\n');
    process.on('SIGTERM', async () => { await s.close(); process.exit(0); });`;
  const child = spawn(process.execPath, [...(process.env.BENCH_MEDIA_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_MEDIA_CPU_PROF}`] : []), '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d).trim()));
    child.once('exit', (c) => reject(new Error(`the host process exited (${c})`)));
  });
  return { url, close: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

// A bare file server (GET /?path=…) in its own process: the HTTP baseline.
async function startBareServer() {
  const code = `import http from 'node:http'; import { createReadStream, statSync } from 'node:fs';
    const s = http.createServer((req, res) => {
      const path = new URL(req.url, 'http://x').searchParams.get('path');
      res.writeHead(200, { 'content-length': String(statSync(path).size) });
      createReadStream(path, { highWaterMark: 1 << 20 }).pipe(res);
    });
    s.listen(0, '127.0.0.1', () => process.stdout.write('http://127.0.0.1:' + s.address().port + '\\n'));
    process.on('SIGTERM', () => process.exit(0));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d).trim()));
    child.once('exit', (c) => reject(new Error(`the bare server exited (${c})`)));
  });
  return { url, close: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

/** Figures: see the header. */
export async function runMediaBench({ quick = false } = {}) {
  const size = quick ? 10_000_000 : 50_000_000;
  const rounds = quick ? 2 : 5;
  const work = mkdtempSync(join(tmpdir(), 'edgesync-bench-media-'));
  const store = join(work, 'store');
  const pg = await startPostgres();
  const host = await startHost(pg.url, store);
  const bare = await startBareServer();
  try {
    const token = await signDevToken(SECRET, { sub: 'bench', ttlSec: 3600 });
    const auth = { authorization: `Bearer ${token}` };
    const agent = new http.Agent({ keepAlive: true });
    const clientId = 'c_bench_media_01';
    const hlc = (n) => `${String(Date.now()).padStart(15, '0')}:${String(n).padStart(5, '0')}:${clientId}`;
    const push = async (seq, row) => {
      const r = await fetch(`${host.url}/sync`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ protocol: 1, clientId, schemaVersion: 1, cursor: null,
          batch: { seq, changes: [{ id: 1, table: 'docs', op: 'upsert', row, hlc: hlc(seq), baseVersion: null }] } }) });
      if (r.status !== 200) throw new Error(`push: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
    };
    let seq = 1;
    await push(seq++, { id: 'doc' });

    const uploads = []; const downloads = []; const copies = []; const copyFiles = []; const bares = [];
    const download = (url, headers, target) => new Promise((resolve, reject) => {
      http.get(url, { agent, headers }, (res) => {
        if (res.statusCode !== 200) { reject(new Error(`download: ${res.statusCode}`)); res.resume(); return; }
        pipeline(res, createWriteStream(target)).then(resolve, reject);
      }).on('error', reject);
    });
    for (let k = 0; k < rounds; k++) {
      // A new file each round (content-addressed: the same bytes would be deduplicated).
      const file = randomBytes(size);
      Buffer.from('0000001866747970', 'hex').copy(file);
      const source = join(work, `source-${k}.mp4`);
      writeFileSync(source, file);
      const sha256 = createHash('sha256').update(file).digest('hex');

      let t0 = performance.now();
      let r = await fetch(`${host.url}/media/uploads`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ table: 'docs', column: 'video', pk: 'doc', size, mime: 'video/mp4', sha256 }) });
      const { uploadId } = await r.json();
      for (let offset = 0; offset < size; offset += PART) {
        const end = Math.min(size, offset + PART);
        const status = await new Promise((resolve, reject) => {
          const req = http.request(`${host.url}/media/uploads/${uploadId}?offset=${offset}`, {
            method: 'PUT', agent, headers: { ...auth, 'content-length': String(end - offset) },
          }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
          req.on('error', reject);
          createReadStream(source, { start: offset, end: end - 1, highWaterMark: 1 << 20 }).pipe(req);
        });
        if (status !== 200) throw new Error(`part: ${status}`);
      }
      r = await fetch(`${host.url}/media/uploads/${uploadId}/complete`, { method: 'POST', headers: auth });
      const done = await r.json();
      if (r.status !== 200) throw new Error(`complete: ${r.status} ${JSON.stringify(done)}`);
      uploads.push(performance.now() - t0);
      await push(seq++, { id: 'doc', video: done.ref });

      const target = join(work, `download-${k}.mp4`);
      t0 = performance.now();
      await download(`${host.url}/media/file?table=docs&column=video&pk=doc`, auth, target);
      downloads.push(performance.now() - t0);
      if (statSync(target).size !== size) throw new Error('short download');
      t0 = performance.now();
      await download(`${bare.url}/?path=${encodeURIComponent(source)}`, {}, `${target}-bare`);
      bares.push(performance.now() - t0);

      const copy = join(store, `direct-${k}`);
      t0 = performance.now();
      await pipeline(createReadStream(source, { highWaterMark: 1 << 20 }), createWriteStream(copy));
      copies.push(performance.now() - t0);
      t0 = performance.now();
      await copyFile(source, `${copy}-copyfile`);
      copyFiles.push(performance.now() - t0);
      await Promise.all([source, target, `${target}-bare`, copy, `${copy}-copyfile`].map((f) => rm(f, { force: true })));
    }
    const rate = (ms) => Number((size / 1e6 / (Math.min(...ms) / 1000)).toFixed(1));
    const figures = {
      blob_upload_mb_per_s: rate(uploads),
      blob_download_mb_per_s: rate(downloads),
      blob_direct_copy_mb_per_s: rate(copies),
      blob_copyfile_mb_per_s: rate(copyFiles),
      blob_http_baseline_mb_per_s: rate(bares),
    };
    figures.ratio_blob_upload_to_direct = Number((figures.blob_upload_mb_per_s / figures.blob_direct_copy_mb_per_s).toFixed(2));
    figures.ratio_blob_download_to_direct = Number((figures.blob_download_mb_per_s / figures.blob_direct_copy_mb_per_s).toFixed(2));
    figures.ratio_blob_download_to_http_baseline = Number((figures.blob_download_mb_per_s / figures.blob_http_baseline_mb_per_s).toFixed(2));
    log(`${size / 1e6} MB: upload ${uploads.map((x) => x.toFixed(0)).join(', ')} ms; download ${downloads.map((x) => x.toFixed(0)).join(', ')} ms; ` +
      `bare http ${bares.map((x) => x.toFixed(0)).join(', ')} ms; stream copy ${copies.map((x) => x.toFixed(0)).join(', ')} ms; copyFile ${copyFiles.map((x) => x.toFixed(0)).join(', ')} ms`);
    return figures;
  } finally {
    await bare.close();
    await host.close();
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await runMediaBench({ quick: process.argv.includes('--quick') || process.env.BENCH_QUICK === '1' }));
}
