// One moto_server per test binary (started on first use, stopped at exit),
// with a fresh bucket per test: suites of controller/storage share it.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "controller/storage/s3_config.h"
#include "tests/support/s3_server.h"

namespace clawback::testing {

// The shared server (fatal test failure when it cannot start: returns null).
S3Server* SharedS3Server();
// A new bucket "t-<n>-<suffix>" on the shared server.
std::string FreshBucket(bool object_lock = false);
// A config for `bucket` on `endpoint` (path style, test credentials, fast retries).
controller::storage::S3Config TestS3Config(const std::string& endpoint, const std::string& bucket,
                                           const std::string& prefix = "backups/");

}  // namespace clawback::testing
