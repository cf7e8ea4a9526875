#include "common/json_scan.h"

namespace edgesync {

namespace {

constexpr int kMaxDepth = 256;

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Appends code point `cp` as UTF-8.
void put_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// The character a one-letter escape stands for (\n -> newline), or 0.
char simple_escape(char e) {
  switch (e) {
    case '"':
      return '"';
    case '\\':
      return '\\';
    case '/':
      return '/';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return 0;
  }
}

// PostgreSQL's numeric input (numeric_in, which jsonb uses for every number)
// refuses an exponent of INT_MAX/2 or more in magnitude, more than 16383
// digits after the decimal point (fraction digits minus the exponent, zeros
// included) and, for a nonzero value, a first significant digit beyond
// 10^131071 (131072 digits before the point). Checked here so such a number
// is a 400 with a path instead of a failed transaction.
constexpr std::int64_t kPgMaxExponent = 1073741823;  // INT_MAX / 2
constexpr std::int64_t kPgMaxScale = 16383;
constexpr std::int64_t kPgMaxLeadExponent = 131071;

bool fits_pg_numeric(bool zero, std::int64_t lead, std::int64_t fraction_digits,
                     std::int64_t exponent) {
  if (exponent >= kPgMaxExponent || exponent <= -kPgMaxExponent) return false;
  if (fraction_digits - exponent > kPgMaxScale) return false;
  return zero || lead + exponent <= kPgMaxLeadExponent;
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void json_scanner::ws() {
  while (p_ < s_.size() && is_ws(s_[p_])) ++p_;
}

bool json_scanner::fail(const char* why) {
  if (err_.empty())
    err_ = "malformed JSON at byte " + std::to_string(p_) + ": " + why;
  return false;
}

bool json_scanner::expect(char c) {
  ws();
  if (p_ < s_.size() && s_[p_] == c) {
    ++p_;
    return true;
  }
  std::string why = std::string("expected '") + c + "'";
  return fail(why.c_str());
}

json_kind_t json_scanner::peek() {
  ws();
  if (p_ >= s_.size()) return json_kind_t::invalid;
  switch (s_[p_]) {
    case '{':
      return json_kind_t::object;
    case '[':
      return json_kind_t::array;
    case '"':
      return json_kind_t::string;
    case 't':
    case 'f':
      return json_kind_t::boolean;
    case 'n':
      return json_kind_t::null;
    default:
      return (s_[p_] == '-' || (s_[p_] >= '0' && s_[p_] <= '9'))
                 ? json_kind_t::number
                 : json_kind_t::invalid;
  }
}

bool json_scanner::begin_object() {
  if (!expect('{')) return false;
  first_ = true;
  return true;
}

bool json_scanner::begin_array() {
  if (!expect('[')) return false;
  first_ = true;
  return true;
}

bool json_scanner::next_key(std::string& key) {
  std::string_view view;
  if (!next_key(view)) return false;
  key.assign(view.data(), view.size());
  return true;
}

bool json_scanner::next_key(std::string_view& key) {
  if (failed()) return false;
  ws();
  if (p_ < s_.size() && s_[p_] == '}') {
    ++p_;
    first_ = false;
    return false;
  }
  if (!first_ && !expect(',')) return false;
  first_ = false;
  ws();
  if (p_ >= s_.size() || s_[p_] != '"') return fail("expected a key string");
  std::size_t from = p_ + 1;
  std::size_t end = from;
  while (end < s_.size() && s_[end] != '"' && s_[end] != '\\' &&
         static_cast<unsigned char>(s_[end]) >= 0x20 &&
         static_cast<unsigned char>(s_[end]) < 0x80)
    ++end;
  if (end < s_.size() && s_[end] == '"') {
    key = s_.substr(from, end - from);  // plain ASCII: view the input
    p_ = end + 1;
  } else {
    key_buf_.clear();
    if (!scan_string(&key_buf_)) return false;
    key = key_buf_;
  }
  return expect(':');
}

bool json_scanner::next_element() {
  if (failed()) return false;
  ws();
  if (p_ < s_.size() && s_[p_] == ']') {
    ++p_;
    first_ = false;
    return false;
  }
  if (!first_ && !expect(',')) return false;
  first_ = false;
  return true;
}

bool json_scanner::read_string(std::string& out) {
  ws();
  if (p_ >= s_.size() || s_[p_] != '"') return fail("expected a string");
  out.clear();
  return scan_string(&out);
}

bool json_scanner::read_number(bool& is_integer, std::int64_t& value) {
  ws();
  return scan_number(&is_integer, &value);
}

bool json_scanner::read_bool(bool& value) {
  ws();
  if (s_.substr(p_, 4) == "true") {
    p_ += 4;
    value = true;
    return true;
  }
  if (s_.substr(p_, 5) == "false") {
    p_ += 5;
    value = false;
    return true;
  }
  return fail("expected true or false");
}

bool json_scanner::read_null() {
  ws();
  return scan_literal("null");
}

std::string_view json_scanner::skip_value() {
  ws();
  std::size_t from = p_;
  bool saved = first_;
  if (!skip(0)) return {};
  first_ = saved;
  return s_.substr(from, p_ - from);
}

bool json_scanner::at_end() {
  ws();
  return p_ == s_.size();
}

bool json_scanner::scan_literal(std::string_view word) {
  if (s_.substr(p_, word.size()) != word) return fail("invalid literal");
  p_ += word.size();
  return true;
}

// Validates (and optionally unescapes) a string starting at the quote,
// including UTF-8 well-formedness: PostgreSQL would reject bad bytes later,
// failing the whole transaction instead of answering 400.
bool json_scanner::scan_string(std::string* out) {
  ++p_;  // opening quote
  std::size_t run = p_;
  while (p_ < s_.size()) {
    auto c = static_cast<unsigned char>(s_[p_]);
    if (c == '"') {
      if (out) out->append(s_.data() + run, p_ - run);
      ++p_;
      return true;
    }
    if (c == '\\') {
      if (out) out->append(s_.data() + run, p_ - run);
      if (p_ + 1 >= s_.size()) return fail("unterminated escape");
      char e = s_[p_ + 1];
      p_ += 2;
      if (char plain = simple_escape(e)) {
        if (out) *out += plain;
        run = p_;
        continue;
      }
      switch (e) {
        case 'u': {
          auto read4 = [&](std::uint32_t& v) {
            if (p_ + 4 > s_.size()) return false;
            v = 0;
            for (int i = 0; i < 4; ++i) {
              int h = hex(s_[p_ + i]);
              if (h < 0) return false;
              v = v * 16 + static_cast<std::uint32_t>(h);
            }
            p_ += 4;
            return true;
          };
          std::uint32_t cp = 0;
          if (!read4(cp)) return fail("bad \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (s_.substr(p_, 2) != "\\u" || (p_ += 2, !read4(lo)) ||
                lo < 0xDC00 || lo > 0xDFFF)
              return fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("unpaired surrogate in \\u escape");
          }
          if (cp == 0)
            return fail(
                "\\u0000 is not allowed (PostgreSQL text cannot hold it)");
          if (out) put_utf8(*out, cp);
          break;
        }
        default:
          return fail("invalid escape");
      }
      run = p_;
      continue;
    }
    if (c < 0x20) return fail("control character in string");
    if (c < 0x80) {
      ++p_;
      continue;
    }
    // Multi-byte UTF-8: check lead byte, continuation bytes, overlongs.
    int n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0)
      n = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
      n = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
      n = 3, cp = c & 0x07;
    else
      return fail("invalid UTF-8");
    if (p_ + n >= s_.size()) return fail("truncated UTF-8");
    for (int i = 1; i <= n; ++i) {
      auto cc = static_cast<unsigned char>(s_[p_ + i]);
      if ((cc & 0xC0) != 0x80) return fail("invalid UTF-8");
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
        (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return fail("invalid UTF-8");
    p_ += n + 1;
  }
  return fail("unterminated string");
}

bool json_scanner::scan_number(bool* is_integer, std::int64_t* value) {
  bool neg = false;
  if (p_ < s_.size() && s_[p_] == '-') neg = true, ++p_;
  if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '9')
    return fail("invalid number");
  bool integer = true;
  bool overflow = false;
  std::uint64_t acc = 0;
  // For the numeric range: the decimal exponent of the first significant
  // digit (before the `e` part), whether every digit is zero, and the count
  // of digits after the point.
  std::int64_t lead = 0;
  bool zero = s_[p_] == '0';
  if (zero) {
    ++p_;
  } else {
    std::size_t from = p_;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      auto d = static_cast<std::uint64_t>(s_[p_] - '0');
      if (acc > (UINT64_MAX - d) / 10) overflow = true;
      acc = acc * 10 + d;
      ++p_;
    }
    lead = static_cast<std::int64_t>(p_ - from) - 1;
  }
  std::int64_t fraction_digits = 0;
  if (p_ < s_.size() && s_[p_] == '.') {
    integer = false;
    ++p_;
    if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '9')
      return fail("invalid number");
    std::size_t from = p_;
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      if (zero && s_[p_] != '0') {
        zero = false;
        lead = -static_cast<std::int64_t>(p_ - from) - 1;
      }
      ++p_;
    }
    fraction_digits = static_cast<std::int64_t>(p_ - from);
  }
  std::int64_t exponent = 0;
  if (p_ < s_.size() && (s_[p_] == 'e' || s_[p_] == 'E')) {
    integer = false;
    ++p_;
    bool exp_neg = false;
    if (p_ < s_.size() && (s_[p_] == '+' || s_[p_] == '-'))
      exp_neg = s_[p_] == '-', ++p_;
    if (p_ >= s_.size() || s_[p_] < '0' || s_[p_] > '9')
      return fail("invalid number");
    while (p_ < s_.size() && s_[p_] >= '0' && s_[p_] <= '9') {
      // Saturates far beyond PostgreSQL's bound; the digits still count.
      if (exponent < (std::int64_t{1} << 40))
        exponent = exponent * 10 + (s_[p_] - '0');
      ++p_;
    }
    if (exp_neg) exponent = -exponent;
  }
  if (!fits_pg_numeric(zero, lead, fraction_digits, exponent))
    numbers_fit_pg_numeric_ = false;
  if (integer) {
    std::uint64_t limit =
        neg ? std::uint64_t{1} << 63 : (std::uint64_t{1} << 63) - 1;
    if (overflow || acc > limit) integer = false;
  }
  if (is_integer) *is_integer = integer;
  if (value && integer)
    *value = neg ? static_cast<std::int64_t>(~acc + 1)
                 : static_cast<std::int64_t>(acc);
  return true;
}

bool json_scanner::skip(int depth) {
  if (depth > kMaxDepth) return fail("nesting too deep");
  ws();
  if (p_ >= s_.size()) return fail("unexpected end of input");
  char c = s_[p_];
  if (c == '"') return scan_string(nullptr);
  if (c == '{') {
    ++p_;
    ws();
    if (p_ < s_.size() && s_[p_] == '}') return ++p_, true;
    for (;;) {
      ws();
      if (p_ >= s_.size() || s_[p_] != '"')
        return fail("expected a key string");
      if (!scan_string(nullptr) || !expect(':') || !skip(depth + 1))
        return false;
      ws();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      return expect('}');
    }
  }
  if (c == '[') {
    ++p_;
    ws();
    if (p_ < s_.size() && s_[p_] == ']') return ++p_, true;
    for (;;) {
      if (!skip(depth + 1)) return false;
      ws();
      if (p_ < s_.size() && s_[p_] == ',') {
        ++p_;
        continue;
      }
      return expect(']');
    }
  }
  if (c == 't') return scan_literal("true");
  if (c == 'f') return scan_literal("false");
  if (c == 'n') return scan_literal("null");
  return scan_number(nullptr, nullptr);
}

}  // namespace edgesync
