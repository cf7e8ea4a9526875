#include "client/client_apply.h"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <set>
#include <unordered_map>

namespace edgesync::client::detail {

namespace {

const char* op_name(row_op op) {
  return op == row_op::remove ? "delete" : "upsert";
}

void add(std::string& list, std::string_view item) {
  if (list.size() > 1) list += ',';
  list += item;
}

// Appends the JSON array `[parts…]` (each part already JSON text) to a list.
void add_tuple(std::string& list,
               std::initializer_list<std::string_view> parts) {
  if (list.size() > 1) list += ',';
  list += '[';
  bool first = true;
  for (auto part : parts) {
    if (!first) list += ',';
    list += part;
    first = false;
  }
  list += ']';
}

// The rows of one table to bind: the table's text as read, or, where a row
// was replaced by a newer one, its current rows joined.
effects::raw_text rows_text(const pulled_table& pt) {
  if (pt.replaced == 0) return effects::raw_text{pt.text, *pt.text};
  std::string text = "[";
  for (std::size_t i = 0; i < pt.spans.size(); ++i) {
    if (i) text += ',';
    text += pt.row(i);
  }
  text += ']';
  return effects::raw_text{std::move(text)};
}

// [[version, key value…], …] of the pulled rows that have a version: the
// versions statement reads this, not the rows (a tenth of the bytes).
std::string versions_text(const pulled_table& pt) {
  std::string versions = "[";
  for (std::size_t e = 0; e < pt.spans.size(); ++e) {
    if (!pt.versions[e]) continue;
    if (versions.size() > 1) versions += ',';
    versions += '[';
    versions += std::to_string(*pt.versions[e]);
    versions += ',';
    const std::string& k = *pt.key_of[e];  // "[v1,v2]"
    versions.append(k, 1, k.size() - 1);
  }
  versions += ']';
  return versions;
}

}  // namespace

void apply_statements::set_jsonb(bool jsonb) {
  if (jsonb == jsonb_) return;
  jsonb_ = jsonb;
  pulled_[0].clear();
  pulled_[1].clear();
}

const table_apply_sql& apply_statements::pulled(std::size_t t, bool deletes) {
  auto& slot = pulled_[deletes ? 1 : 0];
  if (slot.size() != schema_.tables.size()) slot.resize(schema_.tables.size());
  if (!slot[t]) slot[t] = pulled_sql(schema_.tables[t], jsonb_, deletes);
  return *slot[t];
}

void apply_statements::append_delete_outbox(
    std::vector<effects::statement>& out, const effects::raw_text& ids) {
  out.push_back({implicit_bases_sql(), {ids}});
  out.push_back({delete_outbox_ids_sql(), {ids}});
}

void apply_statements::append_reconcile(std::vector<effects::statement>& out) {
  if (reconcile_.empty()) {
    for (const auto& t : schema_.tables) reconcile_.push_back(reconcile_sql(t));
    listing_ = reconciled_rows_sql(reconcile_);
  }
  // The listing first: afterwards every local row equals its base.
  out.push_back({listing_, {}, true});
  for (const auto& r : reconcile_) {
    out.push_back({r.restore, {}});
    out.push_back({r.remove, {}});
  }
  out.push_back({reconcile_versions_sql(), {}});
  out.push_back({drop_ended_bases_sql(), {}});
}

namespace {

// The statements removing the rows of the scope whose membership `key` (a
// key of membership table `members_table`) ended.
void append_purge(const schema& s, std::size_t members_table,
                  const std::string& key, std::vector<effects::statement>& out,
                  effects::changes_applied& applied) {
  const table& m = s.tables[members_table];
  if (m.access != access_kind::members) return;
  auto k = parse_json(key);
  if (!k || !k.value().is_array() || k.value().size() != m.primary_key.size())
    return;
  // The scope key is the membership key's scope column.
  std::string scope_key;
  for (std::size_t i = 0; i < m.primary_key.size(); ++i)
    if (m.primary_key[i] == m.scope_column) scope_key = dump_json(k.value()[i]);
  if (scope_key.empty()) return;
  applied.revoked.emplace_back(s.scopes[m.scope].name, scope_key);
  for (const table& t : s.tables) {
    if (t.scope != m.scope) continue;
    table_purge_sql q = purge_scope_sql(t);
    out.push_back({std::move(q.forget), {scope_key}});
    out.push_back({std::move(q.drop_bases), {scope_key}});
    out.push_back({std::move(q.remove), {scope_key}});
    if (std::find(applied.tables.begin(), applied.tables.end(), t.name) ==
        applied.tables.end())
      applied.tables.push_back(t.name);
  }
}

}  // namespace

answer_plan plan_answer(const sync_answer& a, const sealed_batch* batch,
                        const schema& s, apply_statements& sql) {
  answer_plan plan;
  // The outbox ids answered, this client's new versions [[tbl, pk, v]…],
  // and the server's truth for every answered row [[tbl, pk, v, row]…].
  std::string acked = "[", own = "[", bases = "[";
  if (batch != nullptr) {
    std::map<std::int64_t, const sealed_change*> by_id;
    for (const auto& c : batch->changes) by_id[c.id] = &c;
    std::optional<std::unordered_map<std::int64_t, std::string_view>> sent;
    for (const change_result& res : a.results) {
      auto it = by_id.find(res.id);
      if (it == by_id.end()) continue;
      const sealed_change& c = *it->second;
      for (auto id : c.covers) add(acked, std::to_string(id));
      if (s.find_table(c.tbl) == nullptr) continue;
      const auto& v = res.version;
      const json& row = res.row;
      std::string key;  // "tbl","pk"
      append_json_string(key, c.tbl);
      key += ',';
      append_json_string(key, c.pk);
      std::string version = v ? std::to_string(*v) : "null";
      if (res.status == "applied") {
        if (v) add_tuple(own, {key, version});
        // The server's row is the merged one it sent, else the row as sent
        // (a delete leaves none).
        std::string row_text = "null";
        if (c.op != row_op::remove) {
          if (row.is_object()) {
            row_text = dump_json(row);
          } else {
            if (!sent) sent = sent_rows(batch->text);
            auto found = sent->find(c.id);
            if (found == sent->end()) continue;
            row_text = std::string(found->second);
          }
        }
        add_tuple(bases, {key, version, row_text});
        plan.events.emplace_back(
            effects::acked{c.tbl, c.pk_values(), op_name(c.op), v, c.covers});
        continue;
      }
      const std::string& reason = res.reason;
      if (res.deleted)
        add_tuple(bases, {key, version, "null"});
      else if (row.is_object())
        add_tuple(bases, {key, version, dump_json(row)});
      else if (res.status == "rejected" && reason == "forbidden")
        // The row belongs to another user: none the user may see.
        add_tuple(bases, {key, "null", "null"});
      // Otherwise (e.g. `race` without a row) the server said nothing about
      // its row: the base stays, the row arrives by pull.
      if (res.status == "conflict") {
        plan.events.emplace_back(
            effects::conflict{c.tbl, c.pk_values(), op_name(c.op), c.covers,
                              reason, row, res.deleted, v});
      } else {
        std::string msg =
            !res.message.empty() ? res.message
            : reason == "stale"
                ? "the row changed on the server since this edit was made"
                : "the server refused this change";
        plan.events.emplace_back(effects::rejected{
            c.tbl, c.pk_values(), op_name(c.op), c.covers, reason,
            reason == "forbidden" ? "forbidden" : "stale", msg, "", row,
            res.deleted, v});
      }
    }
  }
  acked += ']';
  own += ']';
  bases += ']';
  auto& st = plan.statements;
  if (acked.size() > 2)
    apply_statements::append_delete_outbox(st,
                                           effects::raw_text{std::move(acked)});
  if (own.size() > 2) {
    st.push_back({record_own_versions_sql(), {effects::raw_text{own}}});
    st.push_back({rebase_outbox_sql(), {effects::raw_text{std::move(own)}}});
  }
  if (bases.size() > 2)
    st.push_back({base_results_sql(), {effects::raw_text{std::move(bases)}}});
  effects::changes_applied applied;
  for (const auto& [ti, pt] : a.pulled.tables) {
    if (pt.rows <= 0) continue;
    effects::raw_text text = rows_text(pt);
    const auto& q = sql.pulled(ti, pt.deletes > 0);
    if (pt.deletes < pt.rows) st.push_back({q.upsert, {text}});
    if (pt.deletes > 0) st.push_back({q.remove, {text}});
    st.push_back({q.base, {std::move(text)}});
    std::string versions = versions_text(pt);
    if (versions.size() > 2)
      st.push_back({q.record, {effects::raw_text{std::move(versions)}}});
    applied.rows += pt.rows;
    applied.tables.push_back(s.tables[ti].name);
  }
  for (const auto& [mi, key] : a.pulled.revoked)
    append_purge(s, mi, key, st, applied);
  sql.append_reconcile(st);
  if (applied.rows > 0 || !a.pulled.revoked.empty())
    plan.events.emplace_back(std::move(applied));
  return plan;
}

void patch_restored(std::string_view listing, const schema& s,
                    std::vector<effect>& events) {
  auto doc = parse_json(listing);
  if (!doc || !doc.value().is_array() || doc.value().empty()) return;
  std::map<std::string, const json*> by_key;
  std::set<std::size_t> tables;
  std::int64_t changed = 0;
  for (const json& r : doc.value()) {
    if (!r.is_array() || r.size() != 5 || !r[0].is_string() ||
        !r[1].is_string())
      continue;
    auto pk = parse_json(r[1].get_ref<const std::string&>());
    if (!pk) continue;
    by_key[r[0].get<std::string>() + '\n' + dump_json(pk.value())] = &r;
    if (r[4] != 1) continue;  // the local row already was the server's
    int ti = s.table_index(r[0].get_ref<const std::string&>());
    if (ti >= 0) tables.insert(static_cast<std::size_t>(ti));
    ++changed;
  }
  auto patch = [&](auto& ev) {
    auto it = by_key.find(ev.table + '\n' + dump_json(ev.pk));
    if (it == by_key.end()) return;
    const json& r = *it->second;
    ev.restored = true;
    ev.row = r[3].is_object() ? r[3] : json(nullptr);
    ev.deleted = !r[3].is_object();
    ev.version = opt_int(r[2]);
  };
  effects::changes_applied* ch = nullptr;
  for (auto& e : events) {
    if (auto* rj = std::get_if<effects::rejected>(&e)) patch(*rj);
    if (auto* cf = std::get_if<effects::conflict>(&e)) patch(*cf);
    if (auto* ca = std::get_if<effects::changes_applied>(&e)) ch = ca;
  }
  if (changed == 0) return;
  if (ch == nullptr) {
    events.emplace_back(effects::changes_applied{});
    ch = &std::get<effects::changes_applied>(events.back());
  }
  for (const auto& name : ch->tables) {
    int ti = s.table_index(name);
    if (ti >= 0) tables.insert(static_cast<std::size_t>(ti));
  }
  ch->tables.clear();
  for (std::size_t ti : tables) ch->tables.push_back(s.tables[ti].name);
  ch->rows += changed;
}

}  // namespace edgesync::client::detail
