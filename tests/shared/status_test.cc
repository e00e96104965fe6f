#include "shared/status.h"

#include <gtest/gtest.h>

namespace clawback {
namespace {

Result<int> Half(int x) {
  if (x % 2) return Status::InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}

Status UseHalf(int x, int* out) {
  Result<int> r = Half(x);
  if (!r.ok()) return r.status().WithContext("halving");
  *out = *r;
  return Status::Ok();
}

TEST(Status, CarriesCodeAndMessage) {
  int out = 0;
  EXPECT_TRUE(UseHalf(4, &out).ok());
  EXPECT_EQ(out, 2);
  Status st = UseHalf(3, &out);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "halving: odd: 3");
  EXPECT_EQ(st.ToString(), "invalid_argument: halving: odd: 3");
}

TEST(Status, ReturnIfErrorPropagates) {
  auto f = [](bool fail) -> Status {
    CLAWBACK_RETURN_IF_ERROR(fail ? Status::IoError("disk") : Status::Ok());
    return Status::Conflict("reached");
  };
  EXPECT_EQ(f(true).code(), Status::Code::kIoError);
  EXPECT_EQ(f(false).code(), Status::Code::kConflict);
}

}  // namespace
}  // namespace clawback
