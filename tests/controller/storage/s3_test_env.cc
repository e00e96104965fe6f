#include "tests/controller/storage/s3_test_env.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <unistd.h>

namespace clawback::testing {

S3Server* SharedS3Server() {
  static std::unique_ptr<S3Server> server = [] {
    const std::string log = std::filesystem::temp_directory_path() / ("moto-" + std::to_string(::getpid()) + ".log");
    auto s = S3Server::Start(log);
    if (!s.ok()) {
      ADD_FAILURE() << s.status().message();
      return std::unique_ptr<S3Server>();
    }
    return std::move(s).value();
  }();
  return server.get();
}

std::string FreshBucket(bool object_lock) {
  static std::atomic<int> n{0};
  const std::string name = "t-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
  S3Server* s = SharedS3Server();
  if (s == nullptr) return name;
  Status st = s->CreateBucket(name, object_lock);
  EXPECT_TRUE(st.ok()) << st.message();
  return name;
}

controller::storage::S3Config TestS3Config(const std::string& endpoint, const std::string& bucket,
                                           const std::string& prefix) {
  controller::storage::S3Config c;
  c.bucket = bucket;
  c.prefix = prefix;
  c.endpoint = endpoint;
  c.path_style = true;
  c.access_key = "testing-key";
  c.secret_key = "testing-secret";
  c.first_part_size = 5ull << 20;
  c.first_backoff_ms = 20;
  c.stall_timeout_s = 5;
  return c;
}

}  // namespace clawback::testing
