#include "controller/api/json_list_writer.h"

#include <utility>

namespace clawback::controller::api {

namespace {
// What one list item of the instance list dumps to, roughly: a starting
// size, not a limit.
constexpr size_t kBytesPerItemGuess = 1536;
}  // namespace

JsonListWriter::JsonListWriter(std::string_view key, size_t expected_items) {
  out_.reserve(expected_items * kBytesPerItemGuess + key.size() + 16);
  out_ += '{';
  out_ += Dump(Json(std::string(key)));
  out_ += ":[";
}

void JsonListWriter::Add(const Json& item) {
  if (!first_) out_ += ',';
  first_ = false;
  out_ += Dump(item);
}

std::string JsonListWriter::Finish() && {
  out_ += "]}";
  return std::move(out_);
}

}  // namespace clawback::controller::api
