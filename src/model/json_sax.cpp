#include "fakeless/model/json_sax.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace fakeless::model {
namespace {

using Sax = nlohmann::json_sax<nlohmann::json>;
constexpr std::size_t kUnknownSize = static_cast<std::size_t>(-1);

class Reader {
 public:
  Reader(std::string_view text, Sax& sax) : s_(text), sax_(sax) {}

  bool run() {
    if (s_.starts_with("\xEF\xBB\xBF")) i_ = 3;  // a UTF-8 byte order mark, as nlohmann skips it
    // Containers open (true: object); after a value, what may follow depends on the top.
    std::vector<bool> stack;
    std::string str;
    for (;;) {
      // A value.
      skip_ws();
      if (i_ >= s_.size()) return error("unexpected end of input; expected a value");
      const char c = s_[i_];
      if (c == '{' || c == '[') {
        ++i_;
        const bool object = c == '{';
        if (!(object ? sax_.start_object(kUnknownSize) : sax_.start_array(kUnknownSize))) return false;
        skip_ws();
        if (i_ < s_.size() && s_[i_] == (object ? '}' : ']')) {
          ++i_;
          if (!(object ? sax_.end_object() : sax_.end_array())) return false;
        } else {
          stack.push_back(object);
          if (object && !member_key(str)) return false;
          continue;
        }
      } else if (c == '"') {
        if (!string(str)) return false;
        if (!sax_.string(str)) return false;
      } else if (c == 't' || c == 'f' || c == 'n') {
        if (!literal()) return false;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!number()) return false;
      } else {
        return error("unexpected character; expected a value");
      }
      // After a value: close containers, or a comma and the next member.
      for (;;) {
        skip_ws();
        if (stack.empty()) {
          if (i_ != s_.size()) return error("unexpected character after the top-level value");
          return true;
        }
        if (i_ >= s_.size()) return error("unexpected end of input inside an object or array");
        const bool object = stack.back();
        const char d = s_[i_];
        if (d == ',') {
          ++i_;
          if (object && !member_key(str)) return false;
          break;
        }
        if (d != (object ? '}' : ']')) return error(object ? "expected ',' or '}'" : "expected ',' or ']'");
        ++i_;
        stack.pop_back();
        if (!(object ? sax_.end_object() : sax_.end_array())) return false;
      }
    }
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }

  bool error(const std::string& what) {
    if (failed_) return false;
    failed_ = true;
    const std::size_t at = std::min(i_, s_.size());
    const std::string token(s_.substr(at, std::min<std::size_t>(16, s_.size() - at)));
    const auto e = nlohmann::json::parse_error::create(101, at + 1, "syntax error: " + what, nullptr);
    sax_.parse_error(at + 1, token, e);
    return false;
  }

  // `"key" :` of an object member; sends key().
  bool member_key(std::string& str) {
    skip_ws();
    if (i_ >= s_.size() || s_[i_] != '"') return error("expected a string as an object key");
    if (!string(str)) return false;
    if (!sax_.key(str)) return false;
    skip_ws();
    if (i_ >= s_.size() || s_[i_] != ':') return error("expected ':' after an object key");
    ++i_;
    return true;
  }

  bool literal() {
    static constexpr std::string_view kTrue = "true", kFalse = "false", kNull = "null";
    const std::string_view rest = s_.substr(i_);
    if (rest.starts_with(kTrue)) {
      i_ += kTrue.size();
      return sax_.boolean(true);
    }
    if (rest.starts_with(kFalse)) {
      i_ += kFalse.size();
      return sax_.boolean(false);
    }
    if (rest.starts_with(kNull)) {
      i_ += kNull.size();
      return sax_.null();
    }
    return error("invalid literal");
  }

  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool number() {
    const std::size_t start = i_;
    bool integer = true;
    if (s_[i_] == '-') ++i_;
    if (i_ >= s_.size() || !digit(s_[i_])) return error("invalid number: a digit must follow '-'");
    if (s_[i_] == '0') {
      ++i_;
    } else {
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      integer = false;
      ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) return error("invalid number: a digit must follow '.'");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      integer = false;
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (i_ >= s_.size() || !digit(s_[i_])) return error("invalid number: a digit must follow the exponent");
      while (i_ < s_.size() && digit(s_[i_])) ++i_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + i_;
    if (integer) {
      if (*first == '-') {
        std::int64_t v = 0;
        const auto r = std::from_chars(first, last, v);
        if (r.ec == std::errc() && r.ptr == last) return sax_.number_integer(v);
      } else {
        std::uint64_t v = 0;
        const auto r = std::from_chars(first, last, v);
        if (r.ec == std::errc() && r.ptr == last) return sax_.number_unsigned(v);
      }
      // Out of 64-bit range: a float, as nlohmann reads it.
    }
    double v = 0.0;
    const auto r = std::from_chars(first, last, v);
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow is an error; underflow reads as (signed) zero, as strtod gives it.
      const std::string_view lexeme(first, static_cast<std::size_t>(last - first));
      const auto e = lexeme.find_first_of("eE");
      const bool negative_exponent = e != std::string_view::npos && e + 1 < lexeme.size() && lexeme[e + 1] == '-';
      if (!negative_exponent) {
        i_ = start;
        return error("number overflow");
      }
      v = *first == '-' ? -0.0 : 0.0;
    } else if (r.ec != std::errc() || r.ptr != last) {
      i_ = start;
      return error("invalid number");
    }
    std::string text(first, last);
    return sax_.number_float(v, text);
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  bool code_unit(std::uint32_t& u) {  // the 4 hex digits after "\u"
    if (i_ + 4 > s_.size()) return error("incomplete \\u escape");
    u = 0;
    for (int k = 0; k < 4; ++k) {
      const int h = hex(s_[i_ + static_cast<std::size_t>(k)]);
      if (h < 0) return error("\\u must be followed by 4 hex digits");
      u = u * 16 + static_cast<std::uint32_t>(h);
    }
    i_ += 4;
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
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

  // Length of the well-formed UTF-8 sequence at i_ (RFC 3629), 0 when malformed.
  [[nodiscard]] std::size_t utf8_length() const {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s_[i_ + k]); };
    const auto cont = [&](std::size_t k, unsigned lo = 0x80, unsigned hi = 0xBF) {
      return i_ + k < s_.size() && b(k) >= lo && b(k) <= hi;
    };
    const unsigned c = b(0);
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
    if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
    if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
    if (c == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
    if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
    if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
    return 0;
  }

  // The string at i_ (on its opening quote) into out, unescaped.
  bool string(std::string& out) {
    out.clear();
    ++i_;
    for (;;) {
      // Plain ASCII runs in one append.
      const std::size_t run = i_;
      while (i_ < s_.size()) {
        const auto c = static_cast<unsigned char>(s_[i_]);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++i_;
      }
      out.append(s_.data() + run, i_ - run);
      if (i_ >= s_.size()) return error("unexpected end of input inside a string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return error("control character in a string (it must be escaped)");
      if (c >= 0x80) {
        const std::size_t n = utf8_length();
        if (n == 0) return error("invalid UTF-8 in a string");
        out.append(s_.data() + i_, n);
        i_ += n;
        continue;
      }
      // An escape.
      if (++i_ >= s_.size()) return error("unexpected end of input inside a string");
      const char e = s_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          std::uint32_t u = 0;
          if (!code_unit(u)) return false;
          if (u >= 0xDC00 && u <= 0xDFFF) return error("a low surrogate without a high one");
          if (u >= 0xD800 && u <= 0xDBFF) {
            std::uint32_t lo = 0;
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') {
              return error("a high surrogate must be followed by a low one");
            }
            i_ += 2;
            if (!code_unit(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return error("a high surrogate must be followed by a low one");
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, u);
          break;
        }
        default:
          --i_;
          return error("invalid escape in a string");
      }
    }
  }

  std::string_view s_;
  Sax& sax_;
  std::size_t i_ = 0;
  bool failed_ = false;
};

}  // namespace

bool sax_parse(std::string_view text, Sax& sax) { return Reader(text, sax).run(); }

bool SmallTreeSax::parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
  return fail("not JSON: " + std::string(e.what()) + " (byte " + std::to_string(position) + ")");
}

bool SmallTreeSax::fail(const std::string& why) {
  if (error.empty()) error = why;
  return false;
}

nlohmann::json* SmallTreeSax::place(nlohmann::json&& v) {
  if (stack_.empty()) {
    root = std::move(v);
    return &root;
  }
  nlohmann::json& parent = *stack_.back();
  if (parent.is_array()) {
    parent.push_back(std::move(v));
    return &parent.back();
  }
  parent[key_] = std::move(v);
  return &parent[key_];
}

bool SmallTreeSax::scalar(nlohmann::json&& v) {
  place(std::move(v));
  return true;
}

bool SmallTreeSax::open(nlohmann::json&& v) {
  std::string name = stack_.empty() || stack_.back()->is_array() ? std::string() : key_;
  stack_.push_back(place(std::move(v)));
  names_.push_back(std::move(name));
  return true;
}

bool SmallTreeSax::close() {
  stack_.pop_back();
  names_.pop_back();
  return true;
}

}  // namespace fakeless::model
