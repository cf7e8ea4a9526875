// Many projects for the pull-cost test and bench: `scopes` projects of the
// shared schema (tests/fixtures/schema.shared.json), `members` members each
// and `rows` nodes each. The rows are written first and the memberships
// later (as members join existing projects), so a fresh device's first pages
// are backfills. User uK is a member of exactly scopes × members / users
// projects.
import { pgDdl } from '../../hosts/wasm/schema.mjs';
import { SHARED_SCHEMA } from './shared-schema.mjs';

/** The tables loaded here (large: they must be read through indexes). */
export const LOADED_TABLES = ['nodes', 'project_members', 'projects'];

/** Creates the schema and loads the data into `sql` (a postgres.js pool). */
export async function loadScopes(sql, core, { scopes = 10000, members = 10, rows = 100, users = 20000 } = {}) {
  await sql.unsafe(pgDdl(core, SHARED_SCHEMA));
  // Bulk load without the per-row triggers (their stamping is not what is
  // measured); the sync columns take their defaults.
  for (const t of LOADED_TABLES) await sql.unsafe(`alter table ${t} disable trigger user`);
  await sql`insert into projects (id, owner_id, name)
    select 'p' || i, 'u' || (i * ${members} % ${users}), 'Project ' || i from generate_series(0, ${scopes - 1}) i`;
  await sql`insert into nodes (id, project_id, owner_id, label)
    select 'n' || i || '-' || j, 'p' || i, 'u0', 'node ' || j
    from generate_series(0, ${scopes - 1}) i, generate_series(0, ${rows - 1}) j`;
  await sql`insert into project_members (project_id, user_id, role, added_by)
    select 'p' || i, 'u' || ((i * ${members} + j) % ${users}), case when j = 0 then 'admin' else 'write' end, 'u0'
    from generate_series(0, ${scopes - 1}) i, generate_series(0, ${members - 1}) j`;
  for (const t of LOADED_TABLES) await sql.unsafe(`alter table ${t} enable trigger user`);
  await sql`analyze`;
}
