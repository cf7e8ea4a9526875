#include "fuzz_support.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#ifndef ES_SOURCE_DIR
#error "ES_SOURCE_DIR must name the repository root"
#endif

namespace edgesync::fuzz {

namespace {

reporter g_reporter = nullptr;

}  // namespace

void set_reporter(reporter r) { g_reporter = r; }

void report(const char* file, int line, const char* expr,
            const std::string& detail) {
  std::string msg = std::string(file) + ":" + std::to_string(line) +
                    ": property broken: " + expr + "\n  " + detail;
  if (g_reporter != nullptr) return g_reporter(msg);
  std::fprintf(stderr, "\n%s\n", msg.c_str());
  std::fflush(stderr);
  std::abort();
}

const std::string& source_file(const char* relative_path) {
  // Read once: the targets call this on every input.
  static std::map<std::string, std::string> cache;
  auto it = cache.find(relative_path);
  if (it != cache.end()) return it->second;
  const char* root = std::getenv("ES_SOURCE_DIR");
  std::string path =
      std::string(root != nullptr ? root : ES_SOURCE_DIR) + "/" + relative_path;
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "edgesync fuzz: cannot read %s\n", path.c_str());
    std::abort();
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  return cache.emplace(relative_path, ss.str()).first->second;
}

const schema& test_schema() {
  static const schema s = [] {
    auto r = parse_schema(source_file("tests/fixtures/schema.v1.json"));
    if (!r) {
      std::fprintf(stderr, "edgesync fuzz: the test schema does not parse\n");
      std::abort();
    }
    return std::move(r.value());
  }();
  return s;
}

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// A character that would glue onto a number token ("1e9991e9", "--1e999"):
// only numbers delimited by something else are rewritten, so the token
// stream nlohmann sees stays the same apart from the value.
bool glues(char c) {
  return digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         c == '.' || c == '+' || c == '-';
}

// Length of the JSON number at text[i] (0 when none starts there).
std::size_t number_length(std::string_view text, std::size_t i) {
  std::size_t j = i;
  auto digits = [&] {
    std::size_t from = j;
    while (j < text.size() && digit(text[j])) ++j;
    return j > from;
  };
  if (j < text.size() && text[j] == '-') ++j;
  if (j < text.size() && text[j] == '0')
    ++j;
  else if (!digits())
    return 0;
  if (j + 1 < text.size() && text[j] == '.' && digit(text[j + 1])) {
    ++j;
    digits();
  }
  if (j < text.size() && (text[j] == 'e' || text[j] == 'E')) {
    std::size_t k = j + 1;
    if (k < text.size() && (text[k] == '+' || text[k] == '-')) ++k;
    if (k < text.size() && digit(text[k])) {
      j = k;
      digits();
    }
  }
  return j - i;
}

}  // namespace

std::string finite_numbers(std::string_view text, bool* changed) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  if (changed != nullptr) *changed = false;
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (in_string) {
      std::size_t n = c == '\\' && i + 1 < text.size() ? 2 : 1;
      if (c == '"') in_string = false;
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    if (c == '"') in_string = true;
    std::size_t n = c == '-' || digit(c) ? number_length(text, i) : 0;
    if (n == 0) {
      out += c;
      ++i;
      continue;
    }
    std::string token(text.substr(i, n));
    double v = std::strtod(token.c_str(), nullptr);
    bool delimited = (i == 0 || !glues(text[i - 1])) &&
                     (i + n == text.size() || !glues(text[i + n]));
    if (delimited && (v == HUGE_VAL || v == -HUGE_VAL)) {
      out += '0';
      if (changed != nullptr) *changed = true;
    } else {
      out += token;
    }
    i += n;
  }
  return out;
}

std::string excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (text.size() > max) out += "…";
  return out;
}

}  // namespace edgesync::fuzz
