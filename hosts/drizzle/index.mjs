// The annotation helper for Drizzle schema files: marks which Drizzle tables
// edgesync syncs and how (owner, scope, conflict policy), so the Drizzle file
// stays the single source of truth. `edgesync schema from-drizzle` reads the
// marks (tools/schema/from-drizzle.mjs). No dependency on drizzle-orm itself.
//
// The marks live under global symbols (Symbol.for), so they are found even
// when this module is loaded twice (e.g. once by the app, once by the CLI).

/** The property holding a table's sync annotation. */
export const SYNCED = Symbol.for('edgesync.drizzle.synced');
/** The property marking a schema-level settings object (syncSchema). */
export const SCHEMA = Symbol.for('edgesync.drizzle.schema');

const SEQ = Symbol.for('edgesync.drizzle.seq');

// Drizzle marks every table with this global symbol (drizzle-orm/table.js).
const IS_DRIZZLE_TABLE = Symbol.for('drizzle:IsDrizzleTable');

/** Marks a Drizzle table as synced; returns the same table (use it in place). */
export function synced(table, options) {
  if (!table || typeof table !== 'object' || !table[IS_DRIZZLE_TABLE]) {
    throw new TypeError('synced(table, options): the first argument must be a Drizzle table (pgTable(...) or sqliteTable(...))');
  }
  if (!options || typeof options !== 'object') {
    throw new TypeError('synced(table, options): options are required, at least { owner: "<column holding the owning user id>" }');
  }
  globalThis[SEQ] = (globalThis[SEQ] ?? 0) + 1;
  // Non-enumerable, so Drizzle and the app never see it among the columns.
  Object.defineProperty(table, SYNCED, {
    value: Object.freeze({ ...options, seq: globalThis[SEQ] }),
    configurable: true,
  });
  return table;
}

/** Schema-level settings (version, description); export the result from the schema file. */
export function syncSchema(settings) {
  return Object.freeze({ ...settings, [SCHEMA]: true });
}
