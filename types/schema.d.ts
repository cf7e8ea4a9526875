import type { Core } from './core.js';

/** Column types of the shared schema. */
export type ColumnType = 'text' | 'integer' | 'real' | 'boolean' | 'timestamp' | 'json' | 'blob_ref';
/** Per-table conflict policies. */
export type ConflictPolicy = 'lww' | 'lww-field' | 'server-wins' | 'client-wins' | 'reject-stale';

/** A member's role in a scope; each grants what the ones before it do. */
export type Role = 'read' | 'write' | 'admin';

/** A scope (e.g. a project) shared by its members (docs/protocol.md, "Scopes and roles"). */
export interface ScopeDeclaration {
  name: string;
  description?: string;
  /** The table of the scope's own rows; its one-column key is the scope key. */
  root: string;
  /** The membership table: one row per (scope key, user) with a role. */
  members: { table: string; scope: string; user: string; role: string };
}

/** A shared schema document (see docs/architecture.md). */
export interface Schema {
  version: number;
  description?: string;
  scopes?: ScopeDeclaration[];
  tables: {
    name: string;
    serverName?: string;
    description?: string;
    columns: {
      name: string; serverName?: string; type: ColumnType; nullable?: boolean; description?: string;
      /** blob_ref only: files accepted by the media endpoints (docs/protocol.md, "Media"). */
      media?: { maxBytes: number; mime: string[] };
    }[];
    primaryKey: string | string[];
    owner: string;
    conflict?: ConflictPolicy;
    /** The scope a row belongs to, named by this column (tables of a scope only). */
    scope?: { name: string; column: string };
  }[];
}

/**
 * A schema document as `import schema from './schema.json'` types it (its
 * literals widened to string); the core validates it at run time.
 */
export interface SchemaDocument {
  version: number;
  description?: string;
  scopes?: readonly object[];
  tables: readonly object[];
}

/** Validates a schema; returns it normalized (server names filled in) or throws EdgesyncError. Not in the browser core (edgesync_client.wasm). */
export function validateSchema(core: Core, schema: Schema | SchemaDocument | string): Schema;
/** SQLite DDL: tables, outbox, clock and triggers (idempotent). */
export function sqliteDdl(core: Core, schema: Schema | SchemaDocument | string): string;
/** PostgreSQL DDL: server tables and bookkeeping (idempotent). Not in the browser core. */
export function pgDdl(core: Core, schema: Schema | SchemaDocument | string): string;
/** Additive SQLite migration; throws `destructive_migration` on anything else. Full core (edgesync_core.wasm) only. */
export function sqliteMigration(core: Core, from: Schema | SchemaDocument, to: Schema | SchemaDocument): string;
/** Additive PostgreSQL migration; throws `destructive_migration` on anything else. */
export function pgMigration(core: Core, from: Schema | SchemaDocument, to: Schema | SchemaDocument): string;
