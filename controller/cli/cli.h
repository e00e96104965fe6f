// The `clawback` command-line client: every subcommand except `serve` and
// `pki` (which controller/main.cc runs in-process). Client commands call the
// REST API (docs/api.md) with a server URL and API token taken from flags
// (--server, --token), the environment (CLAWBACK_SERVER, CLAWBACK_TOKEN) or
// the config file written by `clawback login` (~/.config/clawback/config.json).
// `instance bundle NAME --data-dir DIR` works offline from the data dir's PKI.
//
// Errors print one line "clawback: <message>" to stderr; exit codes come from
// one function (ExitCodeFor): 0 ok, 1 runtime/server failure, 2 bad usage,
// 3 not signed in / forbidden, 4 not found, 5 conflict. `--json` prints the
// API's JSON for scripts.
#pragma once

namespace clawback::controller::cli {

// True when argv[1] names a client subcommand this module handles.
bool IsClientCommand(const char* subcommand);

// Runs `clawback <subcommand> ...` (argv as given to main) and returns the
// process exit code. Never throws.
int RunClient(int argc, char** argv);

}  // namespace clawback::controller::cli
