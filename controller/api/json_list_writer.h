// Writes a response body of the form {"<key>":[item,item,...]} one item at
// a time, straight into the body string, so a long list (1,000 instances)
// is never held as one JSON document: each item is built, dumped and freed
// in turn. The bytes are exactly Dump(Json{{key, Json::array({items...})}})
// (json_codec.h: compact, invalid UTF-8 replaced).
#pragma once

#include <string>
#include <string_view>

#include "controller/api/json_codec.h"

namespace clawback::controller::api {

class JsonListWriter {
 public:
  // `expected_items` only sizes the buffer.
  JsonListWriter(std::string_view key, size_t expected_items = 0);

  void Add(const Json& item);
  // The finished body; the writer is spent.
  std::string Finish() &&;

 private:
  std::string out_;
  bool first_ = true;
};

}  // namespace clawback::controller::api
