// Log-line and flat-JSON parsing for the integration harness.
#include "logs.h"

#include <cctype>

namespace ringlb::it {
namespace {

class JsonReader {
 public:
  explicit JsonReader(std::string_view s) : s_(s) {}

  void ws() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool peek(char c) {
    ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool at_end() {
    ws();
    return i_ == s_.size();
  }

  bool string(std::string* out) {
    if (!eat('"')) return false;
    out->clear();
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      switch (e) {
        case 'n': out->push_back('\n'); break;
        case 't': out->push_back('\t'); break;
        case 'r': out->push_back('\r'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          const unsigned cp = std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16);
          i_ += 4;
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else {
            out->push_back('?');  // the harness never compares non-ASCII text
          }
          break;
        }
        default: out->push_back(e);
      }
    }
    return false;
  }

  // A scalar (string, number, literal) as text.
  bool scalar(std::string* out) {
    ws();
    if (peek('"')) return string(out);
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' &&
           !std::isspace(static_cast<unsigned char>(s_[i_]))) {
      ++i_;
    }
    *out = std::string(s_.substr(start, i_ - start));
    return !out->empty();
  }

  // Skips any value, nested or not.
  bool skip() {
    ws();
    if (peek('{') || peek('[')) {
      int depth = 0;
      bool in_str = false;
      for (; i_ < s_.size(); ++i_) {
        const char c = s_[i_];
        if (in_str) {
          if (c == '\\') ++i_;
          else if (c == '"') in_str = false;
          continue;
        }
        if (c == '"') in_str = true;
        else if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && --depth == 0) {
          ++i_;
          return true;
        }
      }
      return false;
    }
    std::string ignored;
    return scalar(&ignored);
  }

  size_t pos() const { return i_; }
  void set_pos(size_t p) { i_ = p; }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

bool parse_value(JsonReader& r, JsonValue* v) {
  if (r.peek('{')) return r.skip();
  if (!r.eat('[')) return r.scalar(&v->scalar);
  v->is_array = true;
  if (r.eat(']')) return true;
  for (;;) {
    if (r.peek('{') || r.peek('[')) {
      if (!r.skip()) return false;
    } else {
      std::string item;
      if (!r.scalar(&item)) return false;
      v->array.push_back(std::move(item));
    }
    if (r.eat(']')) return true;
    if (!r.eat(',')) return false;
  }
}

// key=value or key="quoted value" tokens after the event name.
void parse_text_pairs(std::string_view rest, LogEvent* ev) {
  size_t i = 0;
  while (i < rest.size()) {
    while (i < rest.size() && rest[i] == ' ') ++i;
    const size_t key_start = i;
    while (i < rest.size() && rest[i] != '=' && rest[i] != ' ') ++i;
    if (i >= rest.size() || rest[i] != '=') continue;  // a bare word: ignore
    std::string key(rest.substr(key_start, i - key_start));
    ++i;
    std::string value;
    if (i < rest.size() && rest[i] == '"') {
      ++i;
      while (i < rest.size() && rest[i] != '"') {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value.push_back(rest[i++]);
      }
      ++i;
    } else {
      while (i < rest.size() && rest[i] != ' ') value.push_back(rest[i++]);
    }
    ev->kv[std::move(key)] = std::move(value);
  }
}

}  // namespace

bool LogEvent::has(const std::map<std::string, std::string>& want) const {
  for (const auto& [k, v] : want) {
    auto it = kv.find(k);
    if (it == kv.end() || it->second != v) return false;
  }
  return true;
}

std::optional<std::map<std::string, JsonValue>> parse_flat_json(std::string_view text) {
  JsonReader r(text);
  std::map<std::string, JsonValue> out;
  if (!r.eat('{')) return std::nullopt;
  if (r.eat('}')) return r.at_end() ? std::optional(out) : std::nullopt;
  for (;;) {
    std::string key;
    if (!r.string(&key) || !r.eat(':')) return std::nullopt;
    JsonValue v;
    if (!parse_value(r, &v)) return std::nullopt;
    out[key] = std::move(v);
    if (r.eat('}')) break;
    if (!r.eat(',')) return std::nullopt;
  }
  if (!r.at_end()) return std::nullopt;
  return out;
}

std::optional<LogEvent> parse_log_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.empty()) return std::nullopt;
  LogEvent ev;
  ev.raw = std::string(line);
  if (line.front() == '{') {
    auto obj = parse_flat_json(line);
    if (!obj) return std::nullopt;
    for (auto& [k, v] : *obj) {
      if (k == "ts") ev.ts = v.scalar;
      else if (k == "level") ev.level = v.scalar;
      else if (k == "event") ev.event = v.scalar;
      else ev.kv[k] = v.scalar;
    }
    if (ev.event.empty()) return std::nullopt;
    return ev;
  }
  // ts level event rest...
  const size_t s1 = line.find(' ');
  if (s1 == std::string_view::npos) return std::nullopt;
  const size_t s2 = line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return std::nullopt;
  size_t s3 = line.find(' ', s2 + 1);
  if (s3 == std::string_view::npos) s3 = line.size();
  ev.ts = std::string(line.substr(0, s1));
  ev.level = std::string(line.substr(s1 + 1, s2 - s1 - 1));
  ev.event = std::string(line.substr(s2 + 1, s3 - s2 - 1));
  if (s3 < line.size()) parse_text_pairs(line.substr(s3 + 1), &ev);
  return ev;
}

std::vector<LogEvent> parse_log(std::string_view text) {
  std::vector<LogEvent> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) break;  // a partial last line is read next time
    if (auto ev = parse_log_line(text.substr(start, end - start))) out.push_back(std::move(*ev));
    start = end + 1;
  }
  return out;
}

}  // namespace ringlb::it
