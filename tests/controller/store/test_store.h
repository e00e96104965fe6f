// Test fixtures shared by the store and auth suites: a temporary directory
// removed on destruction, a real SQLite store inside it, and EngineStoreTest,
// the fixture of the suites that run every case on both engines (SQLite in a
// temp dir, PostgreSQL in a fresh database on the binary's private server,
// tests/support/postgres_server.h).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "controller/store/database_url.h"
#include "controller/store/postgres_store.h"
#include "controller/store/sqlite_store.h"
#include "tests/support/postgres_server.h"

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

// Opens (or fails the test) a store at <dir>/clawback.db. With
// CLAWBACK_TEST_STORE=postgres in the environment, a store on a fresh
// PostgreSQL database instead (`options` do not apply): ctest runs whole
// suites that way too (their *_on_postgres entries).
inline std::unique_ptr<Store> OpenTestStore(const TempDir& dir, SqliteStoreOptions options = {}) {
  const char* engine = std::getenv("CLAWBACK_TEST_STORE");
  auto store = engine && std::string(engine) == "postgres" ? OpenPostgresStore(clawback::testing::FreshDatabaseUrl())
                                                           : OpenSqliteStore(dir.file("clawback.db"), options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status().ToString();
    return nullptr;
  }
  return std::move(store).value();
}

enum class TestEngine { kSqlite, kPostgres };

inline std::string EngineName(const ::testing::TestParamInfo<TestEngine>& info) {
  return info.param == TestEngine::kSqlite ? "sqlite" : "postgres";
}

// A fresh, empty database per test on the engine the parameter names.
// Open() may be called again (after the previous store is gone, for SQLite)
// to reopen the same database.
class EngineStoreTest : public ::testing::TestWithParam<TestEngine> {
 protected:
  void SetUp() override {
    if (GetParam() == TestEngine::kSqlite) {
      url_ = "sqlite://" + dir_.file("clawback.db");
    } else {
      url_ = clawback::testing::FreshDatabaseUrl();
      ASSERT_FALSE(url_.empty());
    }
  }

  bool postgres() const { return GetParam() == TestEngine::kPostgres; }
  const std::string& url() const { return url_; }

  // Fails the test (and returns nullptr) when the store does not open.
  std::unique_ptr<Store> Open() {
    auto parsed = ParseDatabaseUrl(url_, dir_.path().string());
    if (!parsed.ok()) {
      ADD_FAILURE() << parsed.status().ToString();
      return nullptr;
    }
    auto store = OpenStore(*parsed);
    if (!store.ok()) {
      ADD_FAILURE() << store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

  TempDir dir_;
  std::string url_;
};

#define CLAWBACK_BOTH_ENGINES(suite)                                                                     \
  INSTANTIATE_TEST_SUITE_P(Engines, suite,                                                                \
                           ::testing::Values(::clawback::controller::testing::TestEngine::kSqlite,       \
                                             ::clawback::controller::testing::TestEngine::kPostgres),    \
                           ::clawback::controller::testing::EngineName)

}  // namespace clawback::controller::testing
