import type { Core } from './core.js';

/** Column types of the shared schema. */
export type ColumnType = 'text' | 'integer' | 'real' | 'boolean' | 'timestamp' | 'json' | 'blob_ref';
/** Per-table conflict policies. */
export type ConflictPolicy = 'lww' | 'lww-field' | 'server-wins' | 'client-wins' | 'reject-stale';

/** A shared schema document (see docs/architecture.md). */
export interface Schema {
  version: number;
  description?: string;
  tables: {
    name: string;
    serverName?: string;
    description?: string;
    columns: { name: string; serverName?: string; type: ColumnType; nullable?: boolean; description?: string }[];
    primaryKey: string | string[];
    owner: string;
    conflict?: ConflictPolicy;
  }[];
}

/** Validates a schema; returns it normalized (server names filled in) or throws EdgesyncError. */
export function validateSchema(core: Core, schema: Schema | string): Schema;
/** SQLite DDL: tables, outbox, clock and triggers (idempotent). */
export function sqliteDdl(core: Core, schema: Schema | string): string;
/** PostgreSQL DDL: server tables and bookkeeping (idempotent). */
export function pgDdl(core: Core, schema: Schema | string): string;
/** Additive SQLite migration; throws `destructive_migration` on anything else. */
export function sqliteMigration(core: Core, from: Schema, to: Schema): string;
/** Additive PostgreSQL migration; throws `destructive_migration` on anything else. */
export function pgMigration(core: Core, from: Schema, to: Schema): string;
