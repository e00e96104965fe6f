// The fixture of the CLI suite: a real controller and real agents from the
// end-to-end stack (tests/controller/e2e), driven through the real `clawback`
// binary run as a subprocess with its own HOME (so its config file is the
// test's), and helpers that hold every CLI error to the contract of
// controller/cli/cli.h: exit non-zero, nothing on stdout, exactly one line
// "clawback: <message>" on stderr.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/controller/cli/cli_runner.h"
#include "tests/controller/e2e/e2e_fixture.h"

namespace clawback::testing {

class CliTest : public E2eTest {
 protected:
  // Starts the stack and a CLI runner whose HOME is <tmp>/home.
  void StartCli(StackOptions options = {});
  // `clawback login` as admin with --password-stdin (fatal failure on error).
  void Login();

  std::string server_url() const;
  CliResult Cli(const std::vector<std::string>& args, const CliRunOptions& options = {});
  // Runs with --json, expects exit 0 and a JSON document on stdout.
  nlohmann::json CliJson(std::vector<std::string> args, const CliRunOptions& options = {});

  // The error contract: `exit_code`, empty stdout, one stderr line starting
  // "clawback: " and containing `needle` (case-insensitive).
  static void ExpectOneLineError(const CliResult& r, int exit_code, const std::string& needle);

  // A container root with one incompressible file of `bytes` under
  // /home/claworc, so its archive is about that big.
  static std::string MakeRootWithRandomFile(const std::string& dir, uint64_t bytes);

  std::unique_ptr<CliRunner> cli_;
};

}  // namespace clawback::testing
