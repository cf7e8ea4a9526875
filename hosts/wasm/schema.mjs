// Code generation from the shared schema, through the WASM core. Works in any
// host: pass a loaded Core (see core.mjs / node.mjs).

/** Validates a schema; returns its normalized description or throws. */
export const validateSchema = (core, schema) => core.call('schema.validate', schema);
/** SQLite DDL: tables, outbox, clock and triggers (idempotent). */
export const sqliteDdl = (core, schema) => core.call('schema.sqlite_ddl', schema);
/** PostgreSQL DDL: server tables and bookkeeping (idempotent). */
export const pgDdl = (core, schema) => core.call('schema.pg_ddl', schema);
/** Additive SQLite migration from one schema version to the next. */
export const sqliteMigration = (core, from, to) => core.call('schema.sqlite_migration', { from, to });
/** Additive PostgreSQL migration from one schema version to the next. */
export const pgMigration = (core, from, to) => core.call('schema.pg_migration', { from, to });
