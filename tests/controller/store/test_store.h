// Test fixtures shared by the store and auth suites: a temporary directory
// removed on destruction, and a real SQLite store inside it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "controller/store/sqlite_store.h"

namespace clawback::controller::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "clawback-test-XXXXXX").string();
    char* made = ::mkdtemp(tmpl.data());
    if (made == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Opens (or fails the test) a store at <dir>/clawback.db.
inline std::unique_ptr<Store> OpenTestStore(const TempDir& dir, SqliteStoreOptions options = {}) {
  auto store = OpenSqliteStore(dir.file("clawback.db"), options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

}  // namespace clawback::controller::testing
