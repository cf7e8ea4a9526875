// The media endpoints' SQL (docs/protocol.md, "Media"): the bookkeeping
// tables of uploads and stored objects, and per blob_ref column the one
// statement that answers whether a user may attach a file to a row (the
// sync's write rule) or fetch a row's file (the sync's read rule). The host
// runs these and decides nothing itself.
#pragma once

#include "common/json_util.h"
#include "schema/schema.h"

namespace edgesync::sql {

namespace media_names {
/// Completed uploads: (key, table, column, pk) -> size, MIME, uploader.
inline constexpr const char* objects = "edgesync_media";
/// Uploads in progress: id -> (user, table, column, pk, size, MIME, sha256).
inline constexpr const char* uploads = "edgesync_media_uploads";
}  // namespace media_names

/// The idempotent DDL of the media bookkeeping tables.
std::string media_ddl();

/// `schema.media_sql`: {ddl, columns: [{table, column, maxBytes, mime,
/// magic, writeSql, readSql, orphanSql, expireSql}]} for every blob_ref
/// column with `media` limits. writeSql and readSql take $1 = user id, $2 =
/// the row's primary key as a JSON array (client order); writeSql answers
/// one row `access` ('ok', 'forbidden' or 'absent'), readSql one row (access,
/// ref: what the column names, key/size/mime: the object uploaded for this
/// very row, if any). The sweep's statements take $1 = a timestamptz:
/// orphanSql marks the column's records whose row no longer names them
/// (deleted, or naming another file) with $1 and un-marks those named again
/// (rows `orphaned`); expireSql deletes the records of the objects $2 (a
/// text[] of refs) marked at or before $1 and still not named (rows `key`,
/// `size`).
json media_plan(const schema& s);

/// Known leading bytes of a MIME type: alternatives, each a list of
/// {offset, hex} that must all match; empty when none are known.
json media_magic(std::string_view mime);

}  // namespace edgesync::sql
