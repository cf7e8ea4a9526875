// The WASM core behind one small, environment-neutral API, independent of
// which Emscripten glue built it: `core.mjs` binds it to the full core
// (edgesync_core: server + client + schema ops), `client/core.mjs` to the
// size-optimized browser build (edgesync_client: client + schema ops).
// Documents cross the boundary as UTF-8 JSON, one call per operation.

/** An error reported by the core: `code`, `path` and `message` of the first
 * error, and every error in `errors`. */
export class EdgesyncError extends Error {
  constructor(errors) {
    const first = errors[0] ?? { code: 'internal', path: '', message: 'unknown error' };
    super(first.path ? `${first.path}: ${first.message}` : first.message);
    this.name = 'EdgesyncError';
    this.code = first.code;
    this.path = first.path;
    this.errors = errors;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A loaded core instance. Not re-entrant: one call at a time (JS is
 * single-threaded, so this only matters for re-entrancy from callbacks). */
export class Core {
  constructor(module) {
    this.m = module;
  }

  /** Runs `op` and returns the raw JSON envelope text. */
  callRaw(op, input) {
    const m = this.m;
    const opBytes = encoder.encode(op);
    const inBytes = typeof input === 'string' ? encoder.encode(input)
      : input instanceof Uint8Array ? input : encoder.encode(JSON.stringify(input));
    const opPtr = m._es_alloc(opBytes.length);
    const inPtr = m._es_alloc(inBytes.length);
    try {
      m.HEAPU8.set(opBytes, opPtr);
      m.HEAPU8.set(inBytes, inPtr);
      const len = m._es_call(opPtr, opBytes.length, inPtr, inBytes.length);
      const out = decoder.decode(m.HEAPU8.subarray(m._es_out_ptr(), m._es_out_ptr() + len));
      if (len > 1 << 20) m._es_out_clear();
      return out;
    } finally {
      m._es_free(opPtr);
      m._es_free(inPtr);
    }
  }

  /**
   * Runs a framed operation: a JSON `meta` object plus raw byte `segments`
   * (request bodies, query results) that cross the boundary unescaped.
   * Returns `{ meta, segments }` with segments as Uint8Array views copied out
   * of WASM memory. Throws EdgesyncError on an error envelope.
   */
  callFramed(op, meta, segments = []) {
    const parts = segments.map((s) => (typeof s === 'string' ? encoder.encode(s) : s));
    const head = encoder.encode(JSON.stringify({ ...meta, segments: parts.map((p) => p.length) }) + '\n');
    parts.unshift(head);
    const out = this.callParts(op, parts);
    const nl = out.indexOf(10);
    const outMeta = JSON.parse(decoder.decode(out.subarray(0, nl < 0 ? out.length : nl)));
    if (outMeta.ok === false) throw new EdgesyncError(outMeta.errors);
    const outSegs = [];
    let pos = nl + 1;
    for (const len of outMeta.segments ?? []) { outSegs.push(out.subarray(pos, pos + len)); pos += len; }
    return { meta: outMeta, segments: outSegs };
  }

  /** Runs `op` on raw bytes and returns a copy of the raw output bytes. */
  callBytes(op, bytes) {
    return this.callParts(op, [bytes]);
  }

  /**
   * Runs `op` on the concatenation of `parts` (byte arrays), written straight
   * into WASM memory — no joined copy in JS — and returns a copy of the output.
   */
  callParts(op, parts) {
    const m = this.m;
    const opBytes = encoder.encode(op);
    let total = 0;
    for (const p of parts) total += p.length;
    const opPtr = m._es_alloc(opBytes.length);
    const inPtr = m._es_alloc(total);
    try {
      const heap = m.HEAPU8; // read after both allocations: memory may have grown
      heap.set(opBytes, opPtr);
      let off = inPtr;
      for (const p of parts) { heap.set(p, off); off += p.length; }
      const len = m._es_call(opPtr, opBytes.length, inPtr, total);
      const ptr = m._es_out_ptr();
      const out = m.HEAPU8.slice(ptr, ptr + len);
      if (len > 1 << 20) m._es_out_clear();
      return out;
    } finally {
      m._es_free(opPtr);
      m._es_free(inPtr);
    }
  }

  /** Runs `op` and returns its result, or throws an EdgesyncError. */
  call(op, input) {
    const env = JSON.parse(this.callRaw(op, input));
    if (!env.ok) throw new EdgesyncError(env.errors);
    return env.result;
  }

  /**
   * The protocol's facts as the core states them (`protocol.describe`):
   * `version`, `limits.defaults`, `limits.bounds`, `maxKeyBytes`, `clientId`,
   * `hlc` and `errorCodes` (code -> HTTP status). Read once, frozen.
   */
  protocol() {
    this._protocol ??= deepFreeze(this.call('protocol.describe', {}));
    return this._protocol;
  }

  /**
   * The protocol error body (a parsed object) the core builds for an error a
   * host answers itself (401, 404, 413…): the same shape as the core's own.
   */
  errorBody(code, message, path) {
    const entry = path ? { code, message, path } : { code, message };
    return JSON.parse(this.call('protocol.error_body', { errors: [entry] }));
  }
}

function deepFreeze(value) {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/**
 * Instantiates a core from the Emscripten factory `createModule` (the default
 * export of `dist/edgesync_core.mjs` or `dist/edgesync_client.mjs`). `wasm` is
 * a WebAssembly.Module (workerd), bytes (ArrayBuffer/Uint8Array, node), or a
 * URL/Response to stream (browsers).
 */
export async function loadCoreWith(createModule, wasm) {
  if (typeof createModule !== 'function') throw new TypeError('loadCoreWith: createModule must be the Emscripten factory');
  let failed;
  const failure = new Promise((_, reject) => { failed = reject; });
  const module = await Promise.race([createModule({
    locateFile: (path) => path,
    instantiateWasm(imports, receiveInstance) {
      instantiate(wasm, imports).then(
        ({ instance, module: mod }) => receiveInstance(instance, mod),
        (err) => failed(err));
      return {};
    },
  }), failure]);
  return new Core(module);
}

async function instantiate(wasm, imports) {
  if (wasm instanceof WebAssembly.Module) {
    return { instance: await WebAssembly.instantiate(wasm, imports), module: wasm };
  }
  if (typeof wasm === 'string' || wasm instanceof URL) wasm = fetch(wasm);
  if (wasm instanceof Promise || (typeof Response !== 'undefined' && wasm instanceof Response)) {
    const response = await wasm;
    if (WebAssembly.instantiateStreaming) {
      return WebAssembly.instantiateStreaming(response, imports);
    }
    wasm = await response.arrayBuffer();
  }
  return WebAssembly.instantiate(wasm, imports);
}
