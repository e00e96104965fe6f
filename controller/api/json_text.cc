#include "controller/api/json_text.h"

#include <charconv>

namespace clawback::controller::api {

void AppendJsonString(std::string& out, std::string_view s) {
  for (unsigned char c : s) {
    if (c >= 0x80) {
      // Non-ASCII: nlohmann's own UTF-8 decoder decides what is valid and
      // how an invalid sequence is replaced, so the bytes stay identical.
      out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return;
    }
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the bytes not yet appended that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void JsonText::Separate() {
  if (after_key_) {
    after_key_ = false;
  } else if (!first_) {
    out_ += ',';
  }
  first_ = false;
}

JsonText& JsonText::BeginObject() {
  Separate();
  out_ += '{';
  first_ = true;
  return *this;
}

JsonText& JsonText::EndObject() {
  out_ += '}';
  first_ = false;
  return *this;
}

JsonText& JsonText::BeginArray() {
  Separate();
  out_ += '[';
  first_ = true;
  return *this;
}

JsonText& JsonText::EndArray() {
  out_ += ']';
  first_ = false;
  return *this;
}

JsonText& JsonText::Key(std::string_view key) {
  Separate();
  AppendJsonString(out_, key);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonText& JsonText::String(std::string_view s) {
  Separate();
  AppendJsonString(out_, s);
  return *this;
}

namespace {

template <typename Integer>
void AppendDecimal(std::string& out, Integer v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

JsonText& JsonText::Int(int64_t v) {
  Separate();
  AppendDecimal(out_, v);
  return *this;
}

JsonText& JsonText::Uint(uint64_t v) {
  Separate();
  AppendDecimal(out_, v);
  return *this;
}

JsonText& JsonText::Bool(bool v) {
  Separate();
  out_ += v ? "true" : "false";
  return *this;
}

JsonText& JsonText::Null() {
  Separate();
  out_ += "null";
  return *this;
}

JsonText& JsonText::Value(const nlohmann::json& v) {
  Separate();
  out_ += v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return *this;
}

JsonText& JsonText::Strings(const std::vector<std::string>& v) {
  BeginArray();
  for (const std::string& s : v) String(s);
  return EndArray();
}

}  // namespace clawback::controller::api
