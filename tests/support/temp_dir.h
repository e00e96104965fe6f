// A temporary directory removed (recursively) when the object goes away.
#pragma once

#include <string>

namespace clawback::testing {

class TempDir {
 public:
  // Creates $TMPDIR/<prefix>XXXXXX (or /tmp). Aborts the test binary on failure.
  explicit TempDir(const std::string& prefix = "clawback-test-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace clawback::testing
