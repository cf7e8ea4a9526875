// Batch building, pure: the reader of the outbox document (read_outbox_sql's
// answer), the cut of compacted changes into one `batch` under a byte
// budget, the request body, and the persisted form of a sealed batch. Rows
// travel as the JSON text the triggers wrote, spliced into the body
// unchanged: no DOM anywhere on the drain path.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "client/client_compact.h"
#include "common/json_util.h"
#include "schema/schema.h"

namespace edgesync::client::detail {

/// One change of the sealed batch, with what its answer needs.
struct sealed_change {
  std::int64_t id = 0;  ///< the change id sent (its first outbox id)
  std::string tbl;
  std::string pk;  ///< exact outbox pk text
  row_op op = row_op::insert;
  std::vector<std::int64_t> covers;  ///< every outbox id it covers
  /// The parsed key, in key order (an empty array when unreadable).
  json pk_values() const;
};

/// A batch persisted before it is sent (and sent again until answered).
struct sealed_batch {
  std::int64_t seq = 0;
  std::string text;  ///< the `batch` member of the request body
  std::vector<sealed_change> changes;
};

/// Outbox rows that cannot be sent: they leave the queue and are reported
/// (rejected, reason `invalid`).
struct bad_rows {
  std::string tbl;
  json pk;         ///< the key values, or null when unreadable
  std::string op;  ///< upsert or delete
  std::vector<std::int64_t> ids;
  std::string code, message;
};

/// The outbox document: {"pending": n, "rows": [[id, tbl, pk, op, row,
/// changed, hlc, base_version], …]}.
struct outbox_read {
  std::string error;  ///< not such a document ("" when it is)
  std::optional<std::int64_t> pending;
  std::size_t count = 0;         ///< rows in the document
  std::vector<outbox_row> rows;  ///< sendable rows; they view the text
  std::vector<bad_rows> bad;     ///< per table row
};

/// Reads the outbox document `text` (which the rows then view). Rows of a
/// table the schema does not know, with a key that does not fit it, or
/// malformed, go to `bad`.
outbox_read read_outbox(std::string_view text, const schema& s);

/// Cuts `changes` (compacted, in order) into one batch with sequence `seq`:
/// the first change always goes in, the others while the body stays under
/// `budget` bytes. `full`: some did not fit.
struct batch_plan {
  sealed_batch batch;
  bool full = false;
};
/// Cuts the compacted changes into the batch with sequence number `seq`.
batch_plan build_batch(const std::vector<compacted_change>& changes,
                       const schema& s, std::string_view client_id,
                       std::int64_t seq, std::size_t budget);

/// The request body: protocol, clientId, schemaVersion, batch (its text or
/// null), cursor (a string or null), pageSize — or `stream: true` instead
/// of pageSize for a streamed pull.
std::string request_body(std::string_view client_id,
                         std::int64_t schema_version, const sealed_batch* batch,
                         const json& cursor, int page_size,
                         bool stream = false);

/// The persisted description of a sealed batch's changes (inflight_meta).
std::string seal_meta(const sealed_batch& b);

/// A sealed batch from its persisted parts; nullopt when `meta` is not one.
std::optional<sealed_batch> restore_sealed(std::int64_t seq, std::string text,
                                           std::string_view meta);

/// The `row` texts of the changes of a batch text, by change id.
std::unordered_map<std::int64_t, std::string_view> sent_rows(
    std::string_view batch);

}  // namespace edgesync::client::detail
