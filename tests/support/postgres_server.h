// A private PostgreSQL 15 server for tests: Debian's postgresql-15 binaries
// (/usr/lib/postgresql/15/bin, or $CLAWBACK_PG_BIN), a cluster made by
// initdb in a temp directory, listening on a free port of 127.0.0.1 and on a
// unix socket in a private directory, with password authentication for the
// superuser `clawback` over TCP, so tests use real postgres:// URLs with a
// password in them.
//
// initdb and postgres refuse to run as root: when the tests run as root they
// are run as the `postgres` user (fork, setgid/setuid, exec of an argv; no
// shell), and the directories they use are chowned to it. The cluster is
// copied from a template made once per build tree (<build>/pg-template-15,
// made under a lock), which is faster than initdb per test process.
//
// SharedPostgresServer() starts one server per test binary on first use and
// stops it when the binary's tests end (a gtest Environment), or when the
// binary dies (the server gets SIGKILL with its parent). FreshDatabaseUrl()
// gives each test its own empty database (CREATE DATABASE ... TEMPLATE
// template0), so tests never see each other's rows.
//
// Not thread-safe except where noted: tests call these from their main thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "shared/status.h"

namespace clawback::testing {

class PostgresServer {
 public:
  // Starts a server whose files live under a new temp directory; waits until
  // it accepts connections.
  static Result<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();  // fast shutdown, then the files are removed
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  uint16_t port() const { return port_; }
  const std::string& password() const { return password_; }

  // postgres://clawback:<password>@127.0.0.1:<port>/<database>
  std::string Url(const std::string& database) const;
  // Creates an empty database with a new name and returns its URL.
  // Thread-safe.
  Result<std::string> CreateDatabase();
  // Runs `sql` (no parameters) on `database` as the superuser.
  Status Exec(const std::string& database, const std::string& sql) const;
  // Runs `sql` on `database` and returns the first column of its first row
  // ("" for none or NULL).
  Result<std::string> QueryValue(const std::string& database, const std::string& sql) const;

 private:
  PostgresServer() = default;

  std::string root_;  // temp dir holding data/ and sock/
  std::string password_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  int next_db_ = 0;
};

// The server shared by every test in this binary, started on first call.
// Fails the calling test (ADD_FAILURE) and returns nullptr when it cannot
// start.
PostgresServer* SharedPostgresServer();

// A new empty database on the shared server, as a URL; "" (with the test
// failed) when there is none.
std::string FreshDatabaseUrl();

// The database name at the end of a URL this server made.
std::string DatabaseOf(const std::string& url);

}  // namespace clawback::testing
