import type { ColumnType, ConflictPolicy } from './schema.js';

/** A Drizzle table (pgTable/sqliteTable), structurally: no import of drizzle-orm, which stays optional. */
export interface Table {
  readonly _: { readonly name: string; readonly columns: Record<string, unknown> };
}

/** The column keys (the names the app uses) of a Drizzle table. */
export type ColumnKey<T extends Table> = keyof T['_']['columns'] & string;

/** How `edgesync schema from-drizzle` syncs one Drizzle table (docs/drizzle.md). */
export interface SyncedOptions<T extends Table> {
  /** The text column holding the owning user's id; the server sets it from the token. */
  owner: ColumnKey<T>;
  /** The conflict policy (default `lww`). */
  conflict?: ConflictPolicy;
  /** The client table name; defaults to the name the table is exported under. */
  name?: string;
  /** A description carried into the schema. */
  description?: string;
  /** This table's rows belong to a scope, named by `column`. */
  scope?: { name: string; column: ColumnKey<T> };
  /** This table is the root of a scope (its one-column key is the scope key). */
  root?: string | { name: string; description?: string };
  /** This table is the membership table of a scope: one row per (scope key, user) with a role. */
  members?: { scope: string; column: ColumnKey<T>; user: ColumnKey<T>; role: ColumnKey<T> };
  /** Column types that override the mapping from Drizzle's (e.g. `{ url: 'blob_ref' }`). */
  types?: Partial<Record<ColumnKey<T>, ColumnType>>;
  /** Columns left out of the sync (server-only columns; they must be nullable or have a default). */
  exclude?: ColumnKey<T>[];
}

/** Schema-level settings: export `syncSchema({ version: 2 })` from the schema file. */
export interface SyncSchemaSettings {
  /** The schema version (default 1); bump it with every schema change. */
  version: number;
  /** A description carried into the schema. */
  description?: string;
}

/** Marks a Drizzle table as synced; returns the same table. */
export function synced<T extends Table>(table: T, options: SyncedOptions<T>): T;
/** Schema-level settings for `edgesync schema from-drizzle`. */
export function syncSchema(settings: SyncSchemaSettings): Readonly<SyncSchemaSettings>;
/** The property holding a table's sync annotation. */
export const SYNCED: unique symbol;
/** The property marking a syncSchema() settings object. */
export const SCHEMA: unique symbol;
