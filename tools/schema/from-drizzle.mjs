// Drizzle schema module -> edgesync shared schema (docs/drizzle.md). The
// tables and columns come from drizzle-orm's own introspection
// (getTableConfig); what only edgesync knows (owner, scopes, conflict policy)
// comes from the synced() marks of edgesync/drizzle (hosts/drizzle/index.mjs).
import { SYNCED, SCHEMA } from '../../hosts/drizzle/index.mjs';
import { EdgesyncError } from '../../hosts/wasm/core-base.mjs';
import { fail, loadModule } from './load-module.mjs';

const IS_DRIZZLE_TABLE = Symbol.for('drizzle:IsDrizzleTable');
const COLUMNS = Symbol.for('drizzle:Columns');

// Drizzle column classes (`column.columnType`) and their edgesync type.
const TYPES = {
  PgText: 'text', PgVarchar: 'text', PgChar: 'text', PgUUID: 'text',
  PgEnumColumn: 'text', PgEnumObjectColumn: 'text',
  PgInteger: 'integer', PgSmallInt: 'integer', PgBigInt53: 'integer', PgBigInt64: 'integer',
  PgSerial: 'integer', PgSmallSerial: 'integer', PgBigSerial53: 'integer', PgBigSerial64: 'integer',
  PgReal: 'real', PgDoublePrecision: 'real',
  PgBoolean: 'boolean',
  PgJson: 'json', PgJsonb: 'json',
  PgTimestamp: 'timestamp', PgTimestampString: 'timestamp',
  SQLiteText: 'text', SQLiteTextJson: 'json',
  SQLiteInteger: 'integer', SQLiteBoolean: 'boolean', SQLiteReal: 'real',
};

// What to do instead, for the Drizzle types edgesync has no column type for.
const HINTS = {
  PgNumeric: 'numeric is an exact decimal; use doublePrecision() or text(), or map it with types: { <column>: "real" | "text" }',
  PgNumericNumber: 'numeric is an exact decimal; use doublePrecision(), or map it with types: { <column>: "real" }',
  PgNumericBigInt: 'numeric is an exact decimal; use bigint({ mode: "number" }) or text()',
  PgDate: 'edgesync has no date type; use timestamp() or text(), or map it with types: { <column>: "text" }',
  PgDateString: 'edgesync has no date type; use timestamp() or text(), or map it with types: { <column>: "text" }',
  SQLiteTimestamp: 'edgesync stores timestamps as ISO-8601 text; declare text() and map it with types: { <column>: "timestamp" }',
  SQLiteBlobJson: 'use text({ mode: "json" }) for JSON',
};
const DEFAULT_HINT = 'map it to an edgesync type with synced(table, { types: { <column>: "text" | "blob_ref" | ... } }), or leave it out with exclude: ["<column>"]';

const OPTION_KEYS = ['owner', 'conflict', 'name', 'description', 'scope', 'root', 'members', 'types', 'exclude', 'seq'];

// The core's camelCase -> snake_case (core/schema/schema.cpp, to_snake_case):
// a column whose Drizzle SQL name equals it needs no "serverName".
function snakeCase(name) {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i];
    if (/[A-Z]/.test(c)) {
      const prevLower = i > 0 && /[a-z0-9]/.test(name[i - 1]);
      const nextLower = i + 1 < name.length && /[a-z]/.test(name[i + 1]);
      const prevUpper = i > 0 && /[A-Z]/.test(name[i - 1]);
      if (out && !out.endsWith('_') && (prevLower || (prevUpper && nextLower))) out += '_';
      out += c.toLowerCase();
    } else {
      out += c;
    }
  }
  return out;
}

// The dialect of a Drizzle table, from its columns' classes.
function dialectOf(table, where) {
  const first = Object.values(table[COLUMNS])[0]?.columnType ?? '';
  if (first.startsWith('Pg')) return 'pg';
  if (first.startsWith('SQLite')) return 'sqlite';
  throw fail('unsupported_dialect', where,
    `only pg-core and sqlite-core tables can be synced (this one has ${first || 'no'} columns); edgesync's server is PostgreSQL`);
}

// drizzle-orm's own introspection for the table's dialect.
async function tableConfig(table, dialect) {
  try {
    const core = dialect === 'pg' ? await import('drizzle-orm/pg-core') : await import('drizzle-orm/sqlite-core');
    return core.getTableConfig(table);
  } catch (e) {
    if (e.code === 'ERR_MODULE_NOT_FOUND') {
      throw fail('missing_dependency', 'drizzle-orm', 'reading Drizzle tables needs drizzle-orm: npm install drizzle-orm');
    }
    throw e;
  }
}

// The SQL name of a column declared without one (`text()`), under the
// drizzle() instance's `casing` option, as Drizzle itself computes it.
async function sqlName(column, casing) {
  if (!column.keyAsName || !casing) return column.name;
  const { toSnakeCase, toCamelCase } = await import('drizzle-orm/casing');
  return casing === 'snake_case' ? toSnakeCase(column.name) : toCamelCase(column.name);
}

/** Converts the exports of a loaded Drizzle schema module to an edgesync schema object (not yet validated). */
export async function schemaFromModule(ns, { casing, version } = {}) {
  if (casing && casing !== 'snake_case' && casing !== 'camelCase') {
    throw fail('invalid_option', 'casing', `unknown casing "${casing}" (expected snake_case or camelCase, as in drizzle())`);
  }
  const names = new Map(); // table -> export names
  let settings;
  for (const [key, value] of Object.entries(ns)) {
    if (value && typeof value === 'object' && value[IS_DRIZZLE_TABLE]) {
      names.set(value, [...(names.get(value) ?? []), key]);
    } else if (value && typeof value === 'object' && value[SCHEMA]) {
      if (settings) throw fail('invalid_annotation', key, 'more than one syncSchema() export; keep one');
      settings = value;
    }
  }
  const marked = [...names.keys()].filter((t) => t[SYNCED]);
  if (!marked.length) {
    throw fail('missing_annotation', '', names.size
      ? `none of the ${names.size} Drizzle tables exported is marked with synced(); wrap the tables to sync: export const t = synced(pgTable(...), { owner: 'ownerId' })`
      : 'the module exports no Drizzle table; export your pgTable()/sqliteTable() tables, marked with synced()');
  }

  const scopes = new Map(); // scope name -> { name, description?, root?, members? }
  const scopeOf = (name) => {
    if (!scopes.has(name)) scopes.set(name, { name });
    return scopes.get(name);
  };
  const tables = [];
  for (const table of marked) {
    const opts = table[SYNCED];
    const exported = names.get(table);
    let name = opts.name;
    if (!name && exported.length > 1) {
      throw fail('invalid_annotation', exported.join(', '),
        `one table is exported as ${exported.join(' and ')}; pick its client name with synced(table, { name: '...' })`);
    }
    name ??= exported[0];
    const where = `tables.${name}`;
    for (const k of Object.keys(opts)) {
      if (!OPTION_KEYS.includes(k)) throw fail('invalid_annotation', `${where}.${k}`, `unknown synced() option "${k}" (expected ${OPTION_KEYS.slice(0, -1).join(', ')})`);
    }
    const dialect = dialectOf(table, where);
    const config = await tableConfig(table, dialect);
    if (config.schema && config.schema !== 'public') {
      throw fail('unsupported_table', where, `the table is in PostgreSQL schema "${config.schema}"; edgesync syncs tables of the default schema only`);
    }
    const all = Object.entries(table[COLUMNS]);
    // A composite key's columns are copies made for the extra config: match by SQL name.
    const keyOf = new Map(all.map(([k, c]) => [c.name, k]));
    const has = (k) => all.some(([key]) => key === k);
    const needColumn = (k, what) => {
      if (typeof k !== 'string' || !has(k)) {
        throw fail(k === undefined ? 'missing_annotation' : 'unknown_column', `${where}.${what}`,
          k === undefined
            ? `synced() needs ${what}: the column ${what === 'owner' ? "holding the owning user's id (set by the server from the token)" : 'to use'}, one of ${all.map(([key]) => key).join(', ')}`
            : `no column "${k}" in Drizzle table ${name} (its columns: ${all.map(([key]) => key).join(', ')})`);
      }
      return k;
    };
    const exclude = opts.exclude ?? [];
    for (const k of exclude) needColumn(k, 'exclude');
    for (const k of Object.keys(opts.types ?? {})) needColumn(k, `types.${k}`);

    const columns = [];
    for (const [key, col] of all) {
      if (exclude.includes(key)) continue;
      const type = opts.types?.[key] ?? TYPES[col.columnType];
      if (!type) {
        const sql = typeof col.getSQLType === 'function' ? col.getSQLType() : col.columnType;
        throw fail('unsupported_column_type', `${where}.columns.${key}`,
          `Drizzle type ${sql} (${col.columnType}) of ${name}.${key} has no edgesync column type: ${HINTS[col.columnType] ?? DEFAULT_HINT}`);
      }
      const out = { name: key };
      const server = await sqlName(col, casing);
      if (server !== snakeCase(key)) out.serverName = server;
      out.type = type;
      if (col.notNull && !col.primary) out.nullable = false;
      columns.push(out);
    }
    const pk = all.filter(([, c]) => c.primary).map(([k]) => k);
    for (const p of config.primaryKeys ?? []) pk.push(...p.columns.map((c) => keyOf.get(c.name)));
    if (!pk.length) {
      throw fail('missing_primary_key', where, `Drizzle table ${name} has no primary key; add .primaryKey() to a column or primaryKey({ columns: [...] })`);
    }
    const entry = { name };
    const serverTable = config.name;
    if (serverTable !== snakeCase(name)) entry.serverName = serverTable;
    if (opts.description) entry.description = opts.description;
    entry.columns = columns;
    entry.primaryKey = pk.length === 1 ? pk[0] : pk;
    entry.owner = needColumn(opts.owner, 'owner');
    if (opts.conflict) entry.conflict = opts.conflict;
    if (opts.scope) {
      entry.scope = { name: opts.scope.name, column: needColumn(opts.scope.column, 'scope.column') };
    }
    let rank = 2;
    if (opts.root) {
      const root = typeof opts.root === 'string' ? { name: opts.root } : opts.root;
      const s = scopeOf(root.name);
      if (s.root) throw fail('invalid_annotation', `${where}.root`, `scope "${root.name}" already has root table ${s.root}`);
      s.root = name;
      if (root.description) s.description = root.description;
      rank = 0;
    }
    if (opts.members) {
      const m = opts.members;
      const s = scopeOf(m.scope);
      if (s.members) throw fail('invalid_annotation', `${where}.members`, `scope "${m.scope}" already has membership table ${s.members.table}`);
      s.members = { table: name, scope: needColumn(m.column, 'members.column'), user: needColumn(m.user, 'members.user'), role: needColumn(m.role, 'members.role') };
      rank = 1;
    }
    tables.push({ entry, rank, seq: opts.seq });
  }

  for (const s of scopes.values()) {
    if (!s.root) throw fail('missing_annotation', `scopes.${s.name}`, `scope "${s.name}" has no root table; mark it with synced(table, { root: '${s.name}', ... })`);
    if (!s.members) throw fail('missing_annotation', `scopes.${s.name}`, `scope "${s.name}" has no membership table; mark it with synced(table, { members: { scope: '${s.name}', column, user, role }, ... })`);
  }
  // The core merges a batch table by table in schema order: scope roots
  // first, then membership tables, then the rest in the order synced() ran.
  tables.sort((a, b) => a.rank - b.rank || a.seq - b.seq);
  const schema = { version: version ?? settings?.version ?? 1 };
  if (settings?.description) schema.description = settings.description;
  if (scopes.size) schema.scopes = [...scopes.values()].map(({ name, description, root, members }) => ({ name, ...(description && { description }), root, members }));
  schema.tables = tables.map((t) => t.entry);
  return schema;
}

// Names the Drizzle table (and column) behind a core error path such as
// "tables[2].columns[1].nullable".
function explain(schema, e) {
  const m = /^tables\[(\d+)\](?:\.columns\[(\d+)\])?/.exec(e.path ?? '');
  const t = m && schema.tables[Number(m[1])];
  if (!t) return e;
  const c = m[2] !== undefined ? t.columns[Number(m[2])] : undefined;
  return { ...e, message: `${e.message} (Drizzle table ${t.name}${c ? `, column ${c.name}` : ''})` };
}

/** The schema as JSON text in the layout of demo/schema.json: one column per line. */
export function formatSchema(schema) {
  // Objects holding only scalars (a column, a scope reference) fit on one line.
  return JSON.stringify(schema, null, 2).replace(/\{\n\s+([^{}[\]]*?)\n\s*\}/g,
    (_, body) => `{ ${body.split(/,\n\s+/).join(', ')} }`)
    .replace(/\[\n\s+([^{}[\]]*?)\n\s*\]/g, (_, body) => `[${body.split(/,\n\s+/).join(', ')}]`) + '\n';
}

/** Loads a Drizzle schema file, converts it and validates the result with the core; returns the schema or throws EdgesyncError. */
export async function schemaFromDrizzle(file, { core, casing, version } = {}) {
  const ns = await loadModule(file);
  const schema = await schemaFromModule(ns, { casing, version });
  const env = JSON.parse(core.callRaw('schema.validate', JSON.stringify(schema)));
  if (!env.ok) throw new EdgesyncError(env.errors.map((e) => explain(schema, e)));
  return schema;
}
