// Streamed pulls (docs/protocol.md, "Streamed pulls"): while the client
// catches up, a pull asks for a stream; its 200 body arrives in chunks of
// newline-delimited frames, each one page answer. Each whole frame is
// applied like a page answer (rows and cursor in one transaction) while the
// rest downloads, so a stream cut anywhere resumes from the last applied
// page.
#include <algorithm>

#include "client/client_engine.h"
#include "common/json_scan.h"

namespace edgesync::client {

namespace {

// The frame's `rows` (its changes) and `total` (the server's estimate of
// the stream's rows), read from the members before `changes`: the frame
// itself is read when it is applied.
void peek_frame(std::string_view frame, std::int64_t& rows,
                std::optional<std::int64_t>& total) {
  json_scanner s(frame);
  if (!s.begin_object()) return;
  std::string_view k;
  while (s.next_key(k)) {
    if (k == "changes") return;
    bool is_int = false;
    std::int64_t v = 0;
    if ((k == "rows" || k == "total") && s.peek() == json_kind_t::number) {
      if (!s.read_number(is_int, v)) return;
      if (!is_int || v < 0) continue;
      if (k == "rows")
        rows = v;
      else
        total = v;
      continue;
    }
    s.skip_value();
    if (s.failed()) return;
  }
}

}  // namespace

bool engine::impl::wants_stream() const {
  return cfg_.stream && !sealed_ && !round_.flush && catching_up_;
}

void engine::impl::emit_progress() {
  out_.emplace_back(effects::progress{progress_.received, progress_.applied,
                                      progress_.total});
}

void engine::impl::on_chunk(std::string_view bytes) {
  if (stream_.ended) return;
  // The buffer held no newline before these bytes: only they are searched
  // (a page arrives in many chunks; rescanning it each time is quadratic).
  std::size_t scan = stream_.buf.size();
  stream_.buf.append(bytes.data(), bytes.size());
  std::size_t from = 0, nl = 0;
  bool any = false;
  while ((nl = stream_.buf.find('\n', std::max(from, scan))) !=
         std::string::npos) {
    if (nl > from) {
      std::string frame = stream_.buf.substr(from, nl - from);
      std::int64_t rows = 0;
      std::optional<std::int64_t> total;
      peek_frame(frame, rows, total);
      // The estimate counts this stream's rows; earlier rounds of the
      // catch-up come on top.
      if (total && stream_.frames_seen == 0)
        progress_.total = progress_.received + *total;
      ++stream_.frames_seen;
      progress_.received += rows;
      stream_.frames.emplace_back(std::move(frame), rows);
      any = true;
    }
    from = nl + 1;
  }
  stream_.buf.erase(0, from);
  if (!any) {
    // Still downloading: the request deadline counts from the last byte.
    if (in<phases::requesting>())
      timers_[deadline::request] = now_ + cfg_.request_timeout_ms;
    return;
  }
  emit_progress();
  if (in<phases::requesting>()) next_frame();
}

void engine::impl::on_stream_end(int status, std::string_view body,
                                 std::optional<std::int64_t> retry_after) {
  bool waiting = in<phases::requesting>() && io_ == stream_.id;
  if (status != 200) {
    // Refused before any frame (a 401, a 503…): an ordinary answer.
    stream_ = stream_state{};
    if (waiting) {
      io_ = 0;
      on_http_response(status, body, retry_after);
    }
    return;
  }
  on_chunk(body);
  // The last frame may lack its newline.
  if (!stream_.buf.empty()) on_chunk("\n");
  stream_.ended = true;
  if (in<phases::requesting>()) {
    io_ = 0;
    next_frame();
  }
}

void engine::impl::on_stream_broken(const std::string& message) {
  stream_.ended = true;
  stream_.broken = true;
  stream_.failure = message;
  stream_.buf.clear();  // a partial frame is worthless
  if (in<phases::requesting>()) {
    io_ = 0;
    next_frame();
  }
}

// Applies the next whole frame, waits for more, or ends the round.
void engine::impl::next_frame() {
  if (!stream_.frames.empty()) {
    auto [frame, rows] = std::move(stream_.frames.front());
    stream_.frames.pop_front();
    stream_.applying_rows = rows;
    on_ok(frame, std::nullopt);
    return;
  }
  if (!stream_.ended) {
    enter(phases::requesting{});
    io_ = stream_.id;
    timers_[deadline::request] = now_ + cfg_.request_timeout_ms;
    return;
  }
  stream_state done = std::move(stream_);
  stream_ = stream_state{};
  if (done.applied_frames > 0) {
    // Every applied page is durable with its cursor: a broken stream goes
    // on at once from there (a real outage fails that next request).
    end_round_ok(done.has_more || done.broken);
    return;
  }
  enter(phases::idle{});
  if (done.broken)
    on_http_failed(done.failure);
  else
    fail(fail_kind::error, "invalid_response",
         "the server's answer is malformed: an empty stream", 200);
}

// A frame's apply committed.
void engine::impl::after_frame(bool has_more) {
  ++stream_.applied_frames;
  stream_.has_more = has_more;
  progress_.applied += stream_.applying_rows;
  stream_.applying_rows = 0;
  emit_progress();
  next_frame();
}

// Gives up on the stream under way (a failed apply, a bad frame, stop).
void engine::impl::close_stream() {
  if (stream_.id == 0) return;
  if (!stream_.ended) out_.emplace_back(effects::abort_http{stream_.id});
  stream_ = stream_state{};
}

}  // namespace edgesync::client
