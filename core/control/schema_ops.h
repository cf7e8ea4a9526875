// The schema area's control operations (`schema.*`): the handler of each,
// called by the one operation table in control.cpp. Every one is stateless:
// a schema document (or a pair) in, a JSON envelope out.
#pragma once

#include <string>
#include <string_view>

namespace edgesync::schema_ops {

/// `schema.policies`: each conflict policy's rule, from the one table the
/// merge SQL is built from (test oracles read it instead of restating it).
std::string policies(std::string_view input);

/// `schema.access`: who may read and write which rows, from the one rule
/// table (schema/access.h) the merge and pull SQL are built from.
std::string access(std::string_view input);

/// `schema.validate`: a schema document -> its normalized description.
std::string validate(std::string_view input);

/// `schema.sqlite_ddl`: a schema document -> the client's SQLite DDL.
std::string sqlite_ddl(std::string_view input);

#ifndef ES_NO_WORKER
/// `schema.pg_ddl`: a schema document -> the server's PostgreSQL DDL (the
/// request functions included; server builds only).
std::string pg_ddl(std::string_view input);
#endif

#ifndef ES_NO_WORKER
/// `schema.media_sql`: a schema document -> the media endpoints' DDL, limits
/// and authorization statements (sql/media_sql.h; server builds only).
std::string media_sql(std::string_view input);
#endif

/// `schema.sqlite_migration`: {from, to} -> the SQLite migration.
std::string sqlite_migration(std::string_view input);

#ifndef ES_NO_WORKER
/// `schema.pg_migration`: {from, to} -> the PostgreSQL migration (server
/// builds only).
std::string pg_migration(std::string_view input);
#endif

}  // namespace edgesync::schema_ops
