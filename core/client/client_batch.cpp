#include "client/client_batch.h"

#include <map>

#include "common/json_scan.h"
#include "protocol/hlc.h"
#include "protocol/protocol.h"

namespace edgesync::client::detail {

namespace {

const char* op_name(row_op op) {
  return op == row_op::remove ? "delete" : "upsert";
}

row_op op_of(std::string_view op) {
  return op == "D"   ? row_op::remove
         : op == "U" ? row_op::update
                     : row_op::insert;
}

// The value texts of a key array (["a",1]); empty when it is not one.
std::vector<std::string_view> key_spans(std::string_view pk) {
  std::vector<std::string_view> out;
  json_scanner s(pk);
  if (!s.begin_array()) return {};
  while (s.next_element()) {
    auto kind = s.peek();
    if (kind == json_kind_t::object || kind == json_kind_t::array) return {};
    out.push_back(s.skip_value());
    if (s.failed()) return {};
  }
  if (s.failed() || !s.at_end()) return {};
  return out;
}

// The integer that `v` (one JSON value's text) is.
bool read_int(std::string_view v, std::int64_t& out) {
  json_scanner s(v);
  bool is_int = false;
  return s.peek() == json_kind_t::number && s.read_number(is_int, out) &&
         is_int;
}

// The string that `v` (one JSON value's text) is, unescaped.
bool read_str(std::string_view v, std::string& out) {
  json_scanner s(v);
  return s.peek() == json_kind_t::string && s.read_string(out);
}

// One compacted change as the protocol's JSON text, with the row's bytes
// as the triggers wrote them (members in sorted order).
std::string change_text(const table& t, const compacted_change& c,
                        std::string_view client_id) {
  std::string o;
  o.reserve(c.row_text.size() + c.hlc.size() + c.tbl.size() + 96);
  o += "{\"baseVersion\":";
  o += c.base_version ? std::to_string(*c.base_version) : "null";
  if (t.policy == conflict_policy::lww_field && c.op == row_op::update &&
      c.changed) {
    o += ",\"changed\":[";
    for (std::size_t i = 0; i < c.changed->size(); ++i) {
      if (i) o += ',';
      append_json_string(o, (*c.changed)[i]);
    }
    o += ']';
  }
  o += ",\"hlc\":";
  // Writes made before the client id existed carry an empty node.
  auto h = parse_hlc(c.hlc);
  if (h && h.value().node.empty()) {
    h.value().node = std::string(client_id);
    append_json_string(o, format_hlc(h.value()));
  } else {
    append_json_string(o, c.hlc);
  }
  o += ",\"id\":";
  o += std::to_string(c.ids.front());
  o += ",\"op\":\"";
  o += op_name(c.op);
  o += "\",\"row\":";
  if (c.op == row_op::remove) {
    auto spans = key_spans(c.pk);
    o += '{';
    for (std::size_t k = 0; k < t.primary_key.size() && k < spans.size(); ++k) {
      if (k) o += ',';
      append_json_string(o, t.columns[t.primary_key[k]].name);
      o += ':';
      o += spans[k];
    }
    o += '}';
  } else {
    o += c.row_text;
  }
  o += ",\"table\":";
  append_json_string(o, c.tbl);
  o += '}';
  return o;
}

}  // namespace

json sealed_change::pk_values() const {
  auto v = parse_json(pk);
  return v && v.value().is_array() ? std::move(v.value()) : json::array();
}

outbox_read read_outbox(std::string_view text, const schema& sc) {
  outbox_read out;
  auto bad_doc = [&] {
    out = outbox_read{};
    out.error = "the outbox query returned no rows document";
    return out;
  };
  // Refused rows, grouped per table row.
  std::map<std::pair<std::string, std::string>, std::size_t> groups;
  auto refuse = [&](const outbox_row& o, std::string code,
                    std::string message) {
    auto [it, added] = groups.emplace(std::pair(o.tbl, o.pk), out.bad.size());
    if (added) {
      auto pk = parse_json(o.pk);
      out.bad.push_back({o.tbl,
                         pk && pk.value().is_array() ? pk.value() : json(),
                         op_name(o.op),
                         {},
                         std::move(code),
                         std::move(message)});
    }
    out.bad[it->second].ids.push_back(o.id);
  };
  json_scanner s(text);
  if (!s.begin_object()) return bad_doc();
  bool seen_rows = false;
  std::string_view k;
  std::string op;
  while (s.next_key(k)) {
    if (k == "pending") {
      bool is_int = false;
      std::int64_t v = 0;
      if (s.peek() == json_kind_t::number && s.read_number(is_int, v) && is_int)
        out.pending = v;
      else
        s.skip_value();
      if (s.failed()) return bad_doc();
      continue;
    }
    if (k != "rows") {
      s.skip_value();
      if (s.failed()) return bad_doc();
      continue;
    }
    if (seen_rows || !s.begin_array()) return bad_doc();
    seen_rows = true;
    while (s.next_element()) {
      // [id, tbl, pk, op, row, changed, hlc, base_version]
      std::string_view f[8];
      std::size_t n = 0;
      if (!s.begin_array()) return bad_doc();
      while (s.next_element()) {
        std::string_view v = s.skip_value();
        if (s.failed()) return bad_doc();
        if (n < 8) f[n] = v;
        ++n;
      }
      if (s.failed()) return bad_doc();
      outbox_row o;
      if (n == 0 || !read_int(f[0], o.id))
        return bad_doc();  // no id: nothing could ever remove the row
      ++out.count;
      bool ok = n == 8 && read_str(f[1], o.tbl) && read_str(f[2], o.pk) &&
                read_str(f[3], op) && read_str(f[6], o.hlc);
      if (ok) {
        o.op = op_of(op);
        if (f[4].front() == '{') o.row_text = f[4];
        ok = o.op == row_op::remove || !o.row_text.empty();
        if (f[5].front() == '[') {
          std::vector<std::string> ch;
          json_scanner cs(f[5]);
          cs.begin_array();
          while (cs.next_element()) {
            if (cs.peek() == json_kind_t::string) {
              ch.emplace_back();
              cs.read_string(ch.back());
            } else {
              cs.skip_value();
            }
          }
          o.changed = std::move(ch);
        }
        std::int64_t base = 0;
        if (read_int(f[7], base)) o.base_version = base;
      }
      if (!ok) {
        refuse(o, "invalid_request", "malformed outbox row");
        continue;
      }
      const table* t = sc.find_table(o.tbl);
      if (t == nullptr) {
        refuse(o, "unknown_table", "the schema has no table \"" + o.tbl + "\"");
        continue;
      }
      if (key_spans(o.pk).size() != t->primary_key.size()) {
        refuse(o, "missing_primary_key",
               "the outbox key does not match the schema");
        continue;
      }
      out.rows.push_back(std::move(o));
    }
    if (s.failed()) return bad_doc();
  }
  if (!seen_rows || s.failed() || !s.at_end()) return bad_doc();
  return out;
}

batch_plan build_batch(const std::vector<compacted_change>& changes,
                       const schema& sc, std::string_view client_id,
                       std::int64_t seq, std::size_t budget) {
  batch_plan out;
  sealed_batch& batch = out.batch;
  batch.seq = seq;
  std::string body = "{\"seq\":" + std::to_string(seq) + ",\"changes\":[";
  for (const auto& ch : changes) {
    const table* t = sc.find_table(ch.tbl);
    if (t == nullptr) continue;  // read_outbox let none through
    std::string one = change_text(*t, ch, client_id);
    // ~200 bytes of envelope: protocol, clientId, cursor, pageSize.
    if (!batch.changes.empty() && body.size() + one.size() + 220 > budget) {
      out.full = true;
      break;
    }
    if (!batch.changes.empty()) body += ',';
    body += one;
    batch.changes.push_back({ch.ids.front(), ch.tbl, ch.pk, ch.op, ch.ids});
  }
  body += "]}";
  batch.text = std::move(body);
  return out;
}

std::string request_body(std::string_view client_id,
                         std::int64_t schema_version, const sealed_batch* batch,
                         const json& cursor, int page_size, bool stream) {
  std::string body =
      "{\"protocol\":" + std::to_string(protocol_version) + ",\"clientId\":";
  append_json_string(body, client_id);
  body += ",\"schemaVersion\":" + std::to_string(schema_version) +
          ",\"batch\":" + (batch ? batch->text : std::string("null")) +
          ",\"cursor\":" + dump_json(cursor);
  // A stream's pages are as large as the server allows.
  if (stream)
    body += ",\"stream\":true}";
  else
    body += ",\"pageSize\":" + std::to_string(page_size) + "}";
  return body;
}

std::string seal_meta(const sealed_batch& b) {
  std::string meta = "[";
  for (const auto& sc : b.changes) {
    if (meta.size() > 1) meta += ',';
    meta += "{\"covers\":[";
    for (std::size_t i = 0; i < sc.covers.size(); ++i) {
      if (i) meta += ',';
      meta += std::to_string(sc.covers[i]);
    }
    meta += "],\"id\":" + std::to_string(sc.id) + ",\"op\":\"";
    meta += static_cast<char>(sc.op);
    meta += "\",\"pk\":";
    append_json_string(meta, sc.pk);
    meta += ",\"tbl\":";
    append_json_string(meta, sc.tbl);
    meta += '}';
  }
  meta += ']';
  return meta;
}

std::optional<sealed_batch> restore_sealed(std::int64_t seq, std::string text,
                                           std::string_view meta_text) {
  auto meta = parse_json(meta_text);
  if (!meta || !meta.value().is_array()) return std::nullopt;
  sealed_batch b;
  b.seq = seq;
  b.text = std::move(text);
  for (const json& m : meta.value()) {
    if (!m.is_object() || !member(m, "id").is_number_integer() ||
        !member(m, "tbl").is_string() || !member(m, "pk").is_string() ||
        !member(m, "op").is_string() || !member(m, "covers").is_array())
      return std::nullopt;
    sealed_change c;
    c.id = member(m, "id").get<std::int64_t>();
    c.tbl = member(m, "tbl").get<std::string>();
    c.pk = member(m, "pk").get<std::string>();
    c.op = op_of(member(m, "op").get_ref<const std::string&>());
    for (const json& id : member(m, "covers"))
      if (id.is_number_integer()) c.covers.push_back(id.get<std::int64_t>());
    b.changes.push_back(std::move(c));
  }
  return b;
}

std::unordered_map<std::int64_t, std::string_view> sent_rows(
    std::string_view batch) {
  std::unordered_map<std::int64_t, std::string_view> out;
  json_scanner s(batch);
  std::string_view k;
  if (!s.begin_object()) return out;
  while (s.next_key(k)) {
    if (k != "changes" || !s.begin_array()) {
      s.skip_value();
      continue;
    }
    while (s.next_element()) {
      if (!s.begin_object()) return out;
      std::optional<std::int64_t> id;
      std::string_view row;
      while (s.next_key(k)) {
        if (k == "id" && s.peek() == json_kind_t::number) {
          bool is_int = false;
          std::int64_t v = 0;
          if (s.read_number(is_int, v) && is_int) id = v;
        } else if (k == "row") {
          row = s.skip_value();
        } else {
          s.skip_value();
        }
        if (s.failed()) return out;
      }
      if (id && !row.empty()) out[*id] = row;
    }
  }
  return out;
}

}  // namespace edgesync::client::detail
