// Outbox compaction: the triggers record every local write as one
// sync_outbox row; before sending, all rows of the same table row (same
// `tbl` + `pk`) fold into at most one change, because the protocol allows one
// change per row per batch and because sending intermediate states is waste.
//
// Folding rules (first op, then next op -> result). "base" is the server
// version the first edit was based on; the row and HLC are always the latest.
//
// clang-format off
//   I + U -> I            (one insert with the latest row)
//   I + D -> D            (the delete is sent even for a row the client
//                          created: another device may have written the same
//                          key meanwhile, and the delete is the newest write)
//   I + I -> I            (a replace of a pending insert)
//   U + U -> U            (union of `changed`; "all" absorbs)
//   U + D -> D
//   U + I -> U(all)       (a replace: every column is set)
//   D + I -> U(all)       (an upsert of the whole row, base = the delete's)
//   D + U -> U(all)       (cannot come from the triggers; kept total)
//   D + D -> D
// clang-format on
//
// Compaction never changes the result: applying the compacted change leaves
// the server row exactly as applying the raw rows one by one would, whatever
// the server holds when it arrives (including a row of the same key that
// another device wrote and this client has not seen). A run of rows always
// folds into exactly one change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json_util.h"

namespace edgesync::client {

/// The op of an outbox row, or of a compacted change.
enum class row_op : char {
  insert = 'I',  ///< a new row: every column
  update = 'U',  ///< some columns (`changed`; none listed = all)
  remove = 'D',  ///< a delete; only the primary key is known
};

/// One sync_outbox row as the read query returns it.
struct outbox_row {
  std::int64_t id = 0;
  std::string tbl;  ///< client table name
  std::string pk;   ///< the exact JSON array text the trigger stored
  row_op op = row_op::insert;
  json row;  ///< the row (object) after the write; null for deletes
  std::optional<std::vector<std::string>> changed;  ///< nullopt = all columns
  std::string hlc;
  std::optional<std::int64_t> base_version;
  /// The row as JSON text, when the reader kept the bytes instead of `row`
  /// (it views the read document; empty for deletes). Folded like `row`.
  std::string_view row_text;
};

/// One compacted change: what the batch sends for one table row.
struct compacted_change {
  std::string tbl;
  std::string pk;  ///< exact outbox pk text (matches sync_rows / sync_outbox)
  row_op op = row_op::insert;
  json row;  ///< latest row; null for deletes
  std::optional<std::vector<std::string>> changed;  ///< nullopt = all columns
  std::string hlc;                                  ///< latest stamp
  std::optional<std::int64_t> base_version;         ///< of the first edit
  std::vector<std::int64_t> ids;  ///< every outbox id folded in, ascending
  std::string_view row_text;      ///< the latest row's text (see outbox_row)
};

/// The result of compacting a run of outbox rows.
struct compaction {
  /// Changes in the order of their first outbox id.
  std::vector<compacted_change> changes;
};

/// Folds rows (any order; sorted by id first) per the table above.
compaction compact_outbox(std::vector<outbox_row> rows);

}  // namespace edgesync::client
