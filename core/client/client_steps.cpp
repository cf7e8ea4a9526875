// The work of each step of the client engine — load, read and seal, apply,
// drop: the SQL each step emits and what it reads from the results. Which
// step runs when is decided by the state machine in client.cpp.
#include <algorithm>

#include "client/client_engine.h"
#include "protocol/hlc.h"
#include "sql/client_sqlite.h"

namespace edgesync::client {

void engine::impl::begin_load() {
  enter(phases::loading{});
  emit_sql("load", false, {{detail::load_sql(), {}, true}});
}

void engine::impl::on_load(const std::string& text) {
  auto doc = parse_json(text);
  if (!doc || !doc.value().is_object() ||
      !member(doc.value(), "state").is_object()) {
    fail(fail_kind::error, "sql_failed",
         "could not read sync_state; run the SQLite DDL (schema.sqlite_ddl) "
         "before opening the client",
         0);
    return;
  }
  const json& st = member(doc.value(), "state");
  const json& clock = member(doc.value(), "clock");
  bool save = false;
  if (member(st, "client_id").is_string() &&
      is_valid_client_id(
          member(st, "client_id").get_ref<const std::string&>())) {
    client_id_ = member(st, "client_id").get<std::string>();
  } else {
    client_id_ = proposed_id_ && is_valid_client_id(*proposed_id_)
                     ? *proposed_id_
                     : client_id_from_seed(seed_);
    save = true;
  }
  if (!clock.is_object() || !member(clock, "node").is_string() ||
      member(clock, "node").get_ref<const std::string&>() != client_id_)
    save = true;
  next_seq_ = 1;
  if (auto s = opt_int(member(st, "seq")); s && *s >= 1) next_seq_ = *s;
  cursor_ =
      member(st, "cursor").is_string() ? member(st, "cursor") : json(nullptr);
  if (auto p = opt_int(member(doc.value(), "pending"))) pending_ = *p;
  sealed_.reset();
  if (auto seq = opt_int(member(st, "inflight_seq"));
      seq && member(st, "inflight_batch").is_string() &&
      member(st, "inflight_meta").is_string()) {
    sealed_ = detail::restore_sealed(
        *seq, member(st, "inflight_batch").get<std::string>(),
        member(st, "inflight_meta").get_ref<const std::string&>());
  }
  sql_.set_jsonb(
      member(doc.value(), "sqlite").is_string() &&
      detail::sqlite_has_jsonb(
          member(doc.value(), "sqlite").get_ref<const std::string&>()));
  loaded_ = true;
  if (save) {
    enter(phases::saving_id{});
    emit_sql("save_id", true,
             {{detail::set_state_sql(), {std::string("client_id"), client_id_}},
              {detail::set_node_sql(), {client_id_}},
              {detail::set_state_sql(), {std::string("seq"), next_seq_}}});
    return;
  }
  after_loaded();
}

void engine::impl::after_loaded() {
  enter(phases::idle{});
  // A hide during the load still flushes with keepalive.
  if (!host_offline_) start_round(round_.flush);
}

void engine::impl::begin_read() {
  enter(phases::reading{});
  dirty_ = false;
  emit_sql("read", false,
           {{detail::read_outbox_sql(),
             {static_cast<std::int64_t>(max_changes_)},
             true}});
}

void engine::impl::on_read(const std::string& text) {
  detail::outbox_read read = detail::read_outbox(text, schema_);
  if (!read.error.empty()) {
    fail(fail_kind::error, "sql_failed", read.error, 0);
    return;
  }
  if (read.pending) pending_ = *read.pending;
  if (read.count >= max_changes_) round_.more_outbox = true;
  compaction c = compact_outbox(std::move(read.rows));
  std::size_t budget = max_bytes_;
  if (round_.flush)
    budget = std::min(budget, cfg_.keepalive_max_bytes > 400
                                  ? cfg_.keepalive_max_bytes - 400
                                  : cfg_.keepalive_max_bytes);
  detail::batch_plan plan =
      detail::build_batch(c.changes, schema_, client_id_, next_seq_, budget);
  if (plan.full) round_.more_outbox = true;

  phases::sealing next;
  std::vector<effects::statement> stmts;
  if (!plan.batch.changes.empty()) {
    stmts.push_back({detail::set_state_sql(),
                     {std::string("inflight_seq"), plan.batch.seq}});
    stmts.push_back(
        {detail::set_state_segment_sql(),
         {std::string("inflight_batch"), effects::raw_text{plan.batch.text}}});
    stmts.push_back({detail::set_state_segment_sql(),
                     {std::string("inflight_meta"),
                      effects::raw_text{detail::seal_meta(plan.batch)}}});
    next.batch = std::move(plan.batch);
  }
  if (!read.bad.empty()) {
    // Unsendable outbox rows leave the queue; their rows go back to the
    // server's truth.
    std::string ids = "[";
    std::int64_t n = 0;
    for (auto& b : read.bad) {
      for (auto id : b.ids) {
        if (ids.size() > 1) ids += ',';
        ids += std::to_string(id);
        ++n;
      }
      next.events.emplace_back(
          effects::rejected{b.tbl, b.pk, b.op, b.ids, "invalid", b.code,
                            b.message, "", nullptr, false, std::nullopt});
    }
    ids += ']';
    stmts.push_back({detail::guard_on_sql(), {}});
    detail::apply_statements::append_delete_outbox(
        stmts, effects::raw_text{std::move(ids)});
    sql_.append_reconcile(stmts);
    stmts.push_back({detail::guard_off_sql(), {}});
    pending_ = std::max<std::int64_t>(0, pending_ - n);
  }
  if (stmts.empty()) {
    after_seal(next, {});
    return;
  }
  enter(std::move(next));
  emit_sql("seal", true, std::move(stmts));
}

// `p` may be the current phase: everything is taken from it first.
void engine::impl::after_seal(phases::sealing& p,
                              const std::vector<std::string>& values) {
  std::vector<effect> events = std::move(p.events);
  if (p.batch) sealed_ = std::move(p.batch);
  if (!values.empty()) detail::patch_restored(values[0], schema_, events);
  emit_events(events);
  if (!sealed_ && round_.flush) {
    // Nothing to push on the way out; a pull would be wasted.
    enter(phases::idle{});
    round_.flush = false;
    return;
  }
  send_request();
}

// Drops changes of the sealed batch for good (the server refused them
// without applying anything), then sends the rest as a fresh batch.
void engine::impl::drop_changes(const std::vector<std::size_t>& idx,
                                std::vector<effect> evs) {
  std::string ids = "[";
  for (auto i : idx)
    for (auto id : sealed_->changes[i].covers) {
      if (ids.size() > 1) ids += ',';
      ids += std::to_string(id);
    }
  ids += ']';
  sealed_.reset();
  // The refused changes' rows go back to the server's truth.
  std::vector<effects::statement> stmts = {{detail::guard_on_sql(), {}}};
  detail::apply_statements::append_delete_outbox(
      stmts, effects::raw_text{std::move(ids)});
  stmts.push_back({detail::clear_inflight_sql(), {}});
  sql_.append_reconcile(stmts);
  stmts.push_back({detail::guard_off_sql(), {}});
  stmts.push_back({detail::pending_count_sql(), {}, true});
  enter(phases::dropping{std::move(evs)});
  emit_sql("drop", true, std::move(stmts));
}

void engine::impl::on_ok(std::string_view body,
                         std::optional<std::int64_t> retry_after) {
  detail::sync_answer r = detail::read_sync_answer(body, schema_);
  auto bad = [&](const std::string& why) {
    fail(fail_kind::error, "invalid_response",
         "the server's answer is malformed: " + why, 200, retry_after);
  };
  if (!r.error.empty()) return bad(r.error);
  phases::applying next;
  next.has_more = r.has_more;
  next.cursor = r.cursor.is_string() ? r.cursor : cursor_;
  const sealed_batch* acked = nullptr;
  if (sealed_) {
    if (!r.has_ack || r.ack_seq != sealed_->seq)
      return bad("ack does not name the batch sent (seq " +
                 std::to_string(sealed_->seq) + ")");
    // Duplicate without the results: the server applied a later seq than
    // this one (e.g. a restored local database); nothing here was
    // acknowledged. Probe upwards.
    next.older_seq =
        r.ack_duplicate && r.result_count < sealed_->changes.size();
    if (!next.older_seq) acked = &*sealed_;
  }
  detail::answer_plan plan = detail::plan_answer(r, acked, schema_, sql_);
  std::vector<effects::statement> stmts;
  stmts.reserve(plan.statements.size() + 8);
  stmts.push_back({detail::guard_on_sql(), {}});
  for (auto& s : plan.statements) stmts.push_back(std::move(s));
  if (r.server_time) stmts.push_back({sqlite_absorb_sql(), {*r.server_time}});
  stmts.push_back(
      {detail::set_state_sql(),
       {std::string("cursor"),
        next.cursor.is_string() ? effects::param(next.cursor.get<std::string>())
                                : effects::param(nullptr)}});
  if (sealed_) {
    std::int64_t seq = sealed_->seq + 1;
    if (next.older_seq) {
      dup_probe_ = std::min(dup_probe_ + 1, 30);
      seq = sealed_->seq + (std::int64_t{1} << (dup_probe_ - 1));
    } else {
      dup_probe_ = 0;
    }
    stmts.push_back({detail::set_state_sql(), {std::string("seq"), seq}});
    stmts.push_back({detail::clear_inflight_sql(), {}});
    next.next_seq = seq;
  }
  stmts.push_back({detail::guard_off_sql(), {}});
  stmts.push_back({detail::pending_count_sql(), {}, true});
  next.events = std::move(plan.events);
  enter(std::move(next));
  emit_sql("apply", true, std::move(stmts));
}

void engine::impl::read_pending(const std::vector<std::string>& values) {
  if (values.empty()) return;
  auto n = parse_json(values.back());
  if (n && n.value().is_number_integer())
    pending_ = n.value().get<std::int64_t>();
}

void engine::impl::after_apply(phases::applying& p,
                               const std::vector<std::string>& values) {
  phases::applying done = std::move(p);
  read_pending(values);
  if (values.size() == 2)
    detail::patch_restored(values[0], schema_, done.events);
  cursor_ = done.cursor;
  if (sealed_) {
    next_seq_ = done.next_seq;
    if (done.older_seq) round_.more_outbox = true;
    sealed_.reset();
  }
  emit_events(done.events);
  if (stream_.id != 0) {
    after_frame(done.has_more);
    return;
  }
  end_round_ok(done.has_more);
}

void engine::impl::after_drop(phases::dropping& p,
                              const std::vector<std::string>& values) {
  std::vector<effect> events = std::move(p.events);
  read_pending(values);
  if (values.size() == 2) detail::patch_restored(values[0], schema_, events);
  emit_events(events);
  enter(phases::idle{});
  start_round(false);
}
}  // namespace edgesync::client
