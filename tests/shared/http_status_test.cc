// The one Status::Code <-> HTTP status mapping (shared/http_status.h), table
// by table: every code's HTTP status as docs/api.md and docs/agent-protocol.md
// list it, every code round-trips through (HTTP status, "code" name), and a
// bare HTTP status (no "code" in the body) still lands on a code that maps
// back to the same HTTP status.
#include "shared/http_status.h"

#include <gtest/gtest.h>

#include <set>

namespace clawback {
namespace {

using C = Status::Code;

struct CodeCase {
  C code;
  int http;
};

// One row per code: a code added to Status without a row here fails
// EveryCodeHasARow.
const CodeCase kCodes[] = {
    {C::kOk, 200},
    {C::kInvalidArgument, 400},
    {C::kUnauthenticated, 401},
    {C::kPermissionDenied, 403},
    {C::kNotFound, 404},
    {C::kConflict, 409},
    {C::kAlreadyExists, 409},
    {C::kFailedPrecondition, 409},
    {C::kResourceExhausted, 429},
    {C::kUnavailable, 503},
    {C::kDeadlineExceeded, 504},
    {C::kCanceled, 409},
    {C::kCorruption, 422},
    {C::kIoError, 500},
    {C::kInternal, 500},
};

TEST(HttpStatus, EveryCodeHasARow) {
  std::set<C> seen;
  for (const auto& c : kCodes) seen.insert(c.code);
  EXPECT_EQ(seen.size(), std::size(kCodes)) << "a code listed twice";
  for (int i = 0; i <= static_cast<int>(C::kInternal); ++i) {
    EXPECT_TRUE(seen.count(static_cast<C>(i))) << "no row for " << Status::CodeName(static_cast<C>(i));
  }
}

TEST(HttpStatus, CodeToHttp) {
  for (const auto& c : kCodes) {
    EXPECT_EQ(HttpStatusForCode(c.code), c.http) << Status::CodeName(c.code);
  }
}

TEST(HttpStatus, ErrorCodesRoundTripWithTheirName) {
  for (const auto& c : kCodes) {
    if (c.code == C::kOk) continue;
    std::string_view name = Status::CodeName(c.code);
    EXPECT_EQ(CodeForHttpStatus(HttpStatusForCode(c.code), name), c.code) << name;
    EXPECT_EQ(CodeFromName(name), c.code) << name;
  }
}

TEST(HttpStatus, BareHttpStatusMapsBackToItself) {
  for (const auto& c : kCodes) {
    if (c.code == C::kOk) continue;
    C guessed = CodeForHttpStatus(c.http);
    EXPECT_EQ(HttpStatusForCode(guessed), c.http)
        << "HTTP " << c.http << " without a code name became " << Status::CodeName(guessed);
  }
}

struct HttpCase {
  int http;
  std::string_view code_name;
  C want;
};

TEST(HttpStatus, HttpToCode) {
  const HttpCase cases[] = {
      // The canonical code for each status a server sends without a "code".
      {409, "", C::kConflict},
      {422, "", C::kCorruption},
      {429, "", C::kResourceExhausted},
      {500, "", C::kInternal},
      // Wire-level answers the servers send on their own.
      {405, "", C::kInvalidArgument},
      {413, "", C::kResourceExhausted},
      {415, "", C::kInvalidArgument},
      {416, "", C::kInvalidArgument},
      {431, "", C::kResourceExhausted},
      // Other servers (a proxy in front, an older agent).
      {412, "", C::kFailedPrecondition},
      {502, "", C::kUnavailable},
      {507, "", C::kResourceExhausted},
      {418, "", C::kFailedPrecondition},
      {599, "", C::kInternal},
      {302, "", C::kInternal},
      // The body's "code" wins over the status; unknown names and "ok" do not.
      {409, "corruption", C::kCorruption},
      {409, "already_exists", C::kAlreadyExists},
      {500, "io_error", C::kIoError},
      {409, "no_such_code", C::kConflict},
      {503, "ok", C::kUnavailable},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(CodeForHttpStatus(c.http, c.code_name), c.want) << c.http << " \"" << c.code_name << "\"";
  }
}

TEST(HttpStatus, CodeFromNameRejectsUnknownNames) {
  EXPECT_EQ(CodeFromName("conflict"), C::kConflict);
  EXPECT_EQ(CodeFromName(""), std::nullopt);
  EXPECT_EQ(CodeFromName("Conflict"), std::nullopt);
  EXPECT_EQ(CodeFromName("unknown"), std::nullopt);
}

}  // namespace
}  // namespace clawback
