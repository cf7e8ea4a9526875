// The reader of the /sync answer (200): one pass of the JSON scanner over
// the body. The small members are parsed; the pulled `changes` are not
// parsed into a DOM: each element is read in place and its row's values
// copied, as the server wrote them, into one array per row (pulled_table),
// bound to SQLite as it is (client_sqlite.h, pulled_sql). Pure: no state,
// no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/json_util.h"
#include "schema/schema.h"

namespace edgesync::client::detail {

/// The server's answer to one change of the batch.
struct change_result {
  std::int64_t id = 0;
  std::string status;  ///< applied, conflict or rejected
  std::optional<std::int64_t> version;
  bool deleted = false;
  json row;             ///< the server's row (an object), or null
  std::string reason;   ///< why a conflict or rejection
  std::string message;  ///< the server's words on a rejection, if any
};

/// The pulled changes of one table, each row written again as SQLite reads
/// it fastest: `[version, deleted (0/1), value of each column in schema
/// order (null when absent)]` — array positions instead of member paths, and
/// the member names (most of a row's bytes) never reach SQLite.
struct pulled_table {
  /// "[row,row,…]": the rows in the order they came, closed with `]` once
  /// the answer is read. Shared: the apply statements bind it as it is.
  std::shared_ptr<std::string> text;
  /// Per row: where its array is in `text` (offset, size).
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  std::vector<std::optional<std::int64_t>> versions;
  std::vector<bool> deleted;
  std::int64_t rows = 0, deletes = 0;
  /// Rows replaced by a newer element of the same key: `text` still holds
  /// the old arrays, so the rows are joined from `spans` instead.
  std::int64_t replaced = 0;
  /// key text (as dump_json writes the key array) -> row index
  std::unordered_map<std::string, std::size_t> keys;
  std::vector<const std::string*> key_of;  ///< per row, into `keys`
  /// The array of row `i`.
  std::string_view row(std::size_t i) const {
    std::string_view all = *text;
    return all.substr(spans[i].first, spans[i].second);
  }
};

/// The pulled changes of an answer, per schema table index.
struct pulled_changes {
  std::map<std::size_t, pulled_table> tables;
  std::int64_t rows = 0;
  /// The caller's memberships that ended (`revoked` deletes): (membership
  /// table index, key text). Their scopes' rows leave this device.
  std::vector<std::pair<std::size_t, std::string>> revoked;
};

/// A /sync answer with status 200.
struct sync_answer {
  /// Why the answer breaks the protocol ("" when it does not); nothing
  /// else is meaningful then.
  std::string error;
  /// `ack` (null when the request had no batch).
  bool has_ack = false;
  std::optional<std::int64_t> ack_seq;
  bool ack_duplicate = false;
  /// Elements of `results`, well-formed or not.
  std::size_t result_count = 0;
  /// The well-formed results: an integer id and a known status.
  std::vector<change_result> results;
  json cursor;  ///< a string, or null when the answer has none
  bool has_more = false;
  std::optional<std::int64_t> server_time;
  pulled_changes pulled;
};

/// Reads a 200 body. Elements of `changes` the client cannot use are left
/// out (not an object, a table this schema does not know, no row object or
/// no key); of two elements of one row the newer version wins, the later one
/// on a tie. Members are read as JSON means them (escaped names unescaped; a
/// member given twice: the last); a version that is not an integer counts
/// as none. Row values are copied as the server wrote them.
sync_answer read_sync_answer(std::string_view body, const schema& s);

}  // namespace edgesync::client::detail
