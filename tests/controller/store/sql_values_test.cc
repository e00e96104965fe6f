// The JSON array columns (sql_internal.h): what StringsToJson writes,
// JsonToStrings reads back exactly, on its parser-free path for plain ASCII
// and through the JSON parser for everything else; text that is not an array
// of strings is Corruption naming the column.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

TEST(SqlValues, StringArraysRoundTrip) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {""},
      {"/home/claw"},
      {"/a", "", "/b c", "*.tmp", "x,y", "[z]"},
      {"quote \" and backslash \\"},
      {"tab\tnewline\n", std::string("nul\0", 4)},
      {"caf\xc3\xa9", "\xe2\x82\xac/\xf0\x9f\x92\xbe"},
      {"del \x7f", "~"},
  };
  for (const auto& v : cases) {
    EXPECT_EQ(JsonToStrings(StringsToJson(v), "t.c"), v) << StringsToJson(v);
  }
  // Text the store did not write itself but that is a valid array.
  EXPECT_EQ(JsonToStrings("[ \"a\" , \"b\" ]", "t.c"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(JsonToStrings("[\"\\u0041\"]", "t.c"), (std::vector<std::string>{"A"}));
}

TEST(SqlValues, NotAnArrayOfStringsIsCorruption) {
  for (const char* bad : {"", "[", "]", "[\"a\"", "[\"a\",]", "[\"a\"]x", "[1]", "[\"a\",2]", "{}", "\"a\"", "[\"a\"\"b\"]",
                          "null"}) {
    try {
      JsonToStrings(bad, "backups.paths_json");
      ADD_FAILURE() << "accepted: " << bad;
    } catch (const StoreError& e) {
      EXPECT_EQ(e.status.code(), Status::Code::kCorruption) << bad;
      EXPECT_NE(e.status.message().find("backups.paths_json"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace clawback::controller::store::sql
