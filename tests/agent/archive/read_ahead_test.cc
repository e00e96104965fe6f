// ReadAhead: order, end, errors after data, and a consumer that stops early
// while the producer is still going.
#include "agent/archive/read_ahead.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <string>

namespace clawback::agent {
namespace {

// Produces `total` bytes of a counting pattern in reads of at most `step`
// bytes, then ends (or fails with `fail_with` if it is not OK).
struct CountingProducer {
  size_t total;
  size_t step;
  Status fail_with;
  size_t produced = 0;
  std::atomic<int>* calls_after_end = nullptr;
  bool ended = false;

  Result<size_t> operator()(void* buf, size_t capacity) {
    if (ended && calls_after_end != nullptr) ++*calls_after_end;
    if (produced == total) {
      ended = true;
      if (!fail_with.ok()) return fail_with;
      return size_t{0};
    }
    size_t n = std::min({capacity, step, total - produced});
    auto* out = static_cast<unsigned char*>(buf);
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>((produced + i) % 251);
    produced += n;
    return n;
  }
};

std::string Collect(ReadAhead& ahead, Status* end) {
  std::string out;
  for (;;) {
    Result<ReadAhead::Block> block = ahead.Next();
    if (!block.ok()) {
      *end = block.status();
      return out;
    }
    if (block->size == 0) {
      *end = Status::Ok();
      return out;
    }
    out.append(block->data, block->size);
  }
}

TEST(ReadAheadTest, DeliversEveryByteInOrderThenEnds) {
  std::atomic<int> calls_after_end{0};
  CountingProducer producer{1000003, 777, Status::Ok()};
  producer.calls_after_end = &calls_after_end;
  ReadAhead ahead(std::ref(producer), 3, 4096);
  Status end = Status::Internal("unset");
  std::string got = Collect(ahead, &end);
  ASSERT_TRUE(end.ok()) << end.ToString();
  ASSERT_EQ(got.size(), 1000003u);
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(static_cast<unsigned char>(got[i]), i % 251) << i;
  // The end is sticky and the producer is not called again.
  Result<ReadAhead::Block> again = ahead.Next();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size, 0u);
  ahead.Stop();
  EXPECT_EQ(calls_after_end.load(), 0);
}

TEST(ReadAheadTest, DataBeforeAnErrorArrivesThenTheError) {
  CountingProducer producer{10000, 100, Status::Corruption("archive stream truncated")};
  ReadAhead ahead(std::ref(producer), 2, 1024);
  Status end;
  std::string got = Collect(ahead, &end);
  EXPECT_EQ(got.size(), 10000u);
  EXPECT_EQ(end.code(), Status::Code::kCorruption);
  EXPECT_NE(end.message().find("truncated"), std::string::npos);
  Result<ReadAhead::Block> again = ahead.Next();
  EXPECT_EQ(again.status().code(), Status::Code::kCorruption);
}

TEST(ReadAheadTest, ConsumerMayStopBeforeTheEnd) {
  // An endless producer: Stop() (and the destructor) must still return.
  auto endless = [](void* buf, size_t capacity) -> Result<size_t> {
    std::memset(buf, 'x', capacity);
    return capacity;
  };
  ReadAhead ahead(endless, 4, 65536);
  Result<ReadAhead::Block> block = ahead.Next();
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->size, 65536u);
  ahead.Stop();
}

}  // namespace
}  // namespace clawback::agent
