// Writes JSON text straight into a string, token by token, for the API's
// long responses (the instance list at 1,000 instances, pages of backups):
// no document tree is built, so no allocation per value. The text is what
// Dump (json_codec.h) would produce for the same values in the same order:
// compact, strings escaped the way nlohmann::json escapes them, invalid
// UTF-8 replaced by U+FFFD. Objects keep the order their keys are written in;
// a caller that wants Dump's sorted order writes keys sorted.
//
// The writer does not check nesting: a caller writes a Key before each value
// in an object, balances Begin/End, and writes one value after each Key.
// Commas are its business.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace clawback::controller::api {

class JsonText {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit JsonText(std::string& out) : out_(out) {}

  JsonText& BeginObject();
  JsonText& EndObject();
  JsonText& BeginArray();
  JsonText& EndArray();
  JsonText& Key(std::string_view key);

  JsonText& String(std::string_view s);
  JsonText& Int(int64_t v);
  JsonText& Uint(uint64_t v);
  JsonText& Bool(bool v);
  JsonText& Null();
  // Any value held as a tree (a check's free-form detail), dumped in place.
  JsonText& Value(const nlohmann::json& v);
  JsonText& Strings(const std::vector<std::string>& v);

 private:
  void Separate();  // the comma before a value or key, when one is due

  std::string& out_;
  bool first_ = true;         // no item yet in the innermost object/array
  bool after_key_ = false;    // the next value follows a key: no comma
};

// Appends `s` as a JSON string (quotes included), escaped exactly as
// nlohmann::json::dump(-1, ' ', false, replace) escapes it.
void AppendJsonString(std::string& out, std::string_view s);

}  // namespace clawback::controller::api
