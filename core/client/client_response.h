// The reader of the /sync answer (200): one pass of the JSON scanner over
// the body. The small members are parsed; the pulled `changes` are not: each
// element is judged in place and kept as the server's bytes, to be bound to
// SQLite as they are (client_sql.h, pulled_sql). Pure: no state, no I/O.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
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

/// The pulled changes of one table, as element texts of `changes`.
struct pulled_table {
  std::vector<std::string_view> elems;
  std::vector<std::optional<std::int64_t>> versions;
  std::vector<bool> deleted;
  std::int64_t rows = 0, deletes = 0;
  /// key text (as dump_json writes the key array) -> element index
  std::unordered_map<std::string, std::size_t> keys;
  std::vector<const std::string*> key_of;  ///< per element, into `keys`
};

/// The pulled changes of an answer, per schema table index.
struct pulled_changes {
  std::map<std::size_t, pulled_table> tables;
  std::int64_t rows = 0;
  /// Every element of `raw` is used, as it is, for one table: bind `raw`.
  bool all_used = true;
  std::string_view raw;  ///< the `changes` array's text
  /// The caller's memberships that ended (`revoked` deletes): (membership
  /// table index, key text). Their scopes' rows leave this device.
  std::vector<std::pair<std::size_t, std::string>> revoked;
  /// Elements the scanner could not judge in place, parsed and written
  /// again (see read_sync_answer); `elems` view them. A deque: growing it
  /// never moves an element.
  std::deque<std::string> owned;
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
/// on a tie. An element whose bytes SQLite might read differently from the
/// JSON they mean (member names with escapes or given twice, a key value not
/// written as dump_json writes it, a version that is not an integer) is
/// parsed and written again in plain form. `body` must outlive the answer.
sync_answer read_sync_answer(std::string_view body, const schema& s);

}  // namespace edgesync::client::detail
