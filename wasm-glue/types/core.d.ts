/** An error reported by the WASM core. */
export class EdgesyncError extends Error {
  /** Stable machine-readable code of the first error, e.g. "invalid_schema". */
  code: string;
  /** JSON path of the offending field ("" when none). */
  path: string;
  /** Every error reported. */
  errors: { code: string; path: string; message: string }[];
}

/** A loaded WASM core. */
export class Core {
  /** Runs an operation and returns the raw JSON envelope. */
  callRaw(op: string, input: string | Uint8Array | object): string;
  /** Runs an operation and returns its result, or throws EdgesyncError. */
  call<T = unknown>(op: string, input: string | Uint8Array | object): T;
}

/** Instantiates the core from a compiled module, bytes, or a URL/Response. */
export function loadCore(wasm: WebAssembly.Module | BufferSource | string | URL | Response | Promise<Response>): Promise<Core>;
