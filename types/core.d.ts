/** An error reported by the WASM core. */
export class EdgesyncError extends Error {
  constructor(errors: { code: string; path: string; message: string }[]);
  /** Stable machine-readable code of the first error, e.g. "invalid_schema". */
  code: string;
  /** JSON path of the offending field ("" when none). */
  path: string;
  /** Every error reported. */
  errors: { code: string; path: string; message: string }[];
}

/** The protocol error body: `error` repeats the first entry of `errors`. */
export interface ErrorBody {
  protocol: number;
  error: { code: string; message: string; path?: string; errors: { code: string; message: string; path?: string }[] };
  serverSchemaVersion?: number;
}

/** The protocol's facts as the core states them (`protocol.describe`). */
export interface ProtocolFacts {
  version: number;
  limits: {
    defaults: { maxBodyBytes: number; maxChanges: number; maxPageSize: number; defaultPageSize: number; maxClockSkewMs: number };
    bounds: Record<'maxBodyBytes' | 'maxChanges' | 'maxPageSize' | 'defaultPageSize' | 'maxClockSkewMs', { min: number; max: number }>;
  };
  maxKeyBytes: number;
  clientId: { minLength: number; maxLength: number; rule: string; pattern: string };
  hlc: { format: string; msDigits: number; counterDigits: number; separator: string; maxCounter: number; maxMs: number };
  /** Every error code the core emits, with its HTTP status. */
  errorCodes: Record<string, number>;
}

/** A loaded WASM core (made by loadCore). */
export class Core {
  /** Wraps an instantiated Emscripten module. */
  constructor(module: object);
  /** The protocol's facts (read once from the core, frozen). */
  protocol(): Readonly<ProtocolFacts>;
  /** The protocol error body the core builds for an error a host answers itself. */
  errorBody(code: string, message: string, path?: string): ErrorBody;
  /** Runs an operation and returns the raw JSON envelope. */
  callRaw(op: string, input: string | Uint8Array | object): string;
  /** Runs an operation and returns its result, or throws EdgesyncError. */
  call<T = unknown>(op: string, input: string | Uint8Array | object): T;
  /** Runs a framed operation: JSON metadata plus raw byte segments. */
  callFramed(op: string, meta: object, segments?: (string | Uint8Array)[]): { meta: any; segments: Uint8Array[] };
  /** Runs an operation on raw bytes and returns a copy of the raw output. */
  callBytes(op: string, bytes: Uint8Array): Uint8Array;
  /** Runs an operation on the concatenation of byte arrays, written straight into WASM memory. */
  callParts(op: string, parts: Uint8Array[]): Uint8Array;
}

/** What loadCore accepts: a compiled module, bytes, or a URL/Response to stream. */
export type WasmSource = WebAssembly.Module | BufferSource | string | URL | Response | Promise<Response>;
/** An Emscripten module factory: the default export of dist/edgesync_core.mjs, dist/edgesync_server.mjs or dist/edgesync_client.mjs. */
export type CreateModule = (options: object) => Promise<object>;

/** Instantiates the core from a compiled module, bytes, or a URL/Response;
 * `createModule` defaults to the full core's glue (edgesync_core). */
export function loadCore(wasm: WasmSource, createModule?: CreateModule): Promise<Core>;
/** Instantiates a core with the given Emscripten glue. */
export function loadCoreWith(createModule: CreateModule, wasm: WasmSource): Promise<Core>;
