// The apply transaction's statements and app events, planned from a read
// /sync answer (client_response.h) by pure functions: the server's answers
// to this client's changes go to sync_base, the pulled rows to their tables
// (or to sync_base for pending keys), then every key whose queue ended is
// reconciled (docs/client.md, "The server's truth on the device").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "client/client_batch.h"
#include "client/client_response.h"
#include "sql/client_sqlite.h"

namespace edgesync::client::detail {

/// The statements of one schema, built on first use, for one SQLite flavour.
class apply_statements {
 public:
  /// For `s`, which must outlive this object.
  explicit apply_statements(const schema& s) : schema_(s) {}
  /// SQLite >= 3.45 (jsonb_each) or not; the default is not.
  void set_jsonb(bool jsonb);
  /// pulled_sql for table `t` (with or without deletes).
  const table_apply_sql& pulled(std::size_t t, bool deletes);
  /// Appends the deletion of outbox rows `ids` (a JSON array), keeping the
  /// server's truth for their keys (implicit_bases_sql) first.
  static void append_delete_outbox(std::vector<effects::statement>& out,
                                   const effects::raw_text& ids);
  /// Appends the reconciliation of every key whose queue ended; its one
  /// `out` statement lists the keys (read it with patch_restored).
  void append_reconcile(std::vector<effects::statement>& out);

 private:
  const schema& schema_;
  bool jsonb_ = false;
  std::vector<std::optional<table_apply_sql>> pulled_[2];
  std::vector<table_reconcile_sql> reconcile_;
  std::string listing_;
};

/// The part of the apply transaction the answer makes: run under the apply
/// guard, before the bookkeeping (clock, cursor, seq).
struct answer_plan {
  std::vector<effects::statement> statements;
  /// acked, conflict and rejected in the order of the results, then the
  /// changes event for the pulled rows (if any).
  std::vector<effect> events;
};

/// Plans what answer `a` writes. `batch`: the batch it acknowledges (null
/// when it acknowledges none).
answer_plan plan_answer(const sync_answer& a, const sealed_batch* batch,
                        const schema& s, apply_statements& sql);

/// After a transaction with append_reconcile committed: `listing` is its
/// `out` value. Rejected and conflict events of reconciled keys say what the
/// row became (`restored`); the changes event (added if need be) names the
/// tables whose rows the reconciliation changed.
void patch_restored(std::string_view listing, const schema& s,
                    std::vector<effect>& events);

}  // namespace edgesync::client::detail
