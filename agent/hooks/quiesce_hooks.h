// Quiesce hooks: commands the agent runs around a backup or a restore so the
// programs writing the data can be paused (e.g. stop the OpenClaw gateway's s6
// service before a restore, start it again after).
//
// The contract:
// - Hooks come ONLY from the agent's own configuration (the --hooks JSON file,
//   set in the image). A request can only say whether to use them
//   ("quiesce": false / ?quiesce=0); it can never name or change a command.
// - Each hook is an argv array run without a shell: argv[0] must be an
//   absolute path; the process gets stdin from /dev/null, cwd "/", its own
//   process group, default signal dispositions, no inherited descriptors, and
//   a clean environment: PATH (kHookPath), CLAWBACK_HOOK=<hook name>,
//   CLAWBACK_ROOT=<agent --root>.
// - Each hook has a timeout (default 30 s, below the controller's default stall timeout); on expiry its whole
// process group
//   gets SIGKILL and the hook has failed. Its stdout+stderr (merged) are
//   captured, at most kHookOutputLimit bytes, and logged with the exit status.
// - A pre-hook that fails (spawn error, non-zero exit, signal, timeout) makes
//   the operation fail before it touches any data. The matching post-hook runs
//   exactly once whenever the pre-hook was started, whatever happened after
//   (success, failure, cancel, even a failed pre-hook: a half-done stop is
//   undone). A phase with only a post-hook runs it after the operation. A
//   failed post-hook is logged and reported as a warning of the operation; the
//   data written or read is not affected by it.
// - One quiesced operation at a time: a second one asking while another holds
//   the hooks is refused (Conflict), so a post-hook never restarts a service
//   under a restore still in progress.
//
// Thread safety: QuiesceHooks is immutable apart from its atomic busy flag and
// may be shared by all connections; a QuiesceScope belongs to one worker.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/status.h"

namespace clawback::agent {

inline constexpr std::string_view kHookPath =
    "/command:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
inline constexpr size_t kHookOutputLimit = 16 * 1024;
inline constexpr std::chrono::seconds kDefaultHookTimeout{30};
inline constexpr std::chrono::seconds kMaxHookTimeout{3600};

struct HookCommand {
  std::vector<std::string> argv;  // argv[0] absolute
  std::chrono::seconds timeout = kDefaultHookTimeout;
};

// The four hooks; an absent one does nothing.
struct HookConfig {
  std::optional<HookCommand> pre_backup, post_backup, pre_restore, post_restore;
};

// Reads the --hooks file:
//   {"timeout_s": 60,                                  (optional default)
//    "pre-restore":  {"argv": ["/command/s6-svc", "-d", "/run/service/x"], "timeout_s": 90},
//    "post-restore": ["/command/s6-svc", "-u", "/run/service/x"], ...}
// A hook is an argv array or an object {"argv": [...], "timeout_s": N}.
// InvalidArgument naming the file and the key for anything else (unknown
// keys, empty argv, a relative argv[0], a NUL byte, timeout outside 1..3600).
Result<HookConfig> LoadHookConfig(const std::string& path);

// Runs one hook to completion as described above. OK when it exited 0;
// FailedPrecondition "<name> hook failed: ..." (exit status or spawn error,
// with the last line of its output) or DeadlineExceeded "<name> hook timed
// out after N s" otherwise. Blocking; call it from a worker thread.
Status RunHook(std::string_view name, const HookCommand& command, const std::string& root);

enum class QuiesceOperation { kBackup, kRestore };

class QuiesceHooks;

// The hooks of one operation, claimed for one worker. Begin() runs the
// pre-hook; End() (or the destructor) runs the post-hook and releases the
// claim. Not thread-safe; move it to the worker that does the operation.
class QuiesceScope {
 public:
  QuiesceScope(const QuiesceScope&) = delete;
  QuiesceScope& operator=(const QuiesceScope&) = delete;
  ~QuiesceScope();

  // Runs the pre-hook (OK when there is none). On error the operation must
  // not start; End() still runs the post-hook.
  Status Begin();
  // True once a pre-hook ran and succeeded: the data is handled quiesced.
  bool quiesced() const { return quiesced_; }
  // Runs the post-hook if due (at most once). Returns a warning for the
  // operation's summary when it failed.
  std::optional<std::string> End();

 private:
  friend class QuiesceHooks;
  QuiesceScope(const QuiesceHooks& hooks, const HookCommand* pre, const HookCommand* post,
               std::string_view pre_name, std::string_view post_name);

  const QuiesceHooks& hooks_;
  const HookCommand* pre_;
  const HookCommand* post_;
  std::string_view pre_name_, post_name_;
  bool began_ = false;
  bool ended_ = false;
  bool quiesced_ = false;
};

class QuiesceHooks {
 public:
  QuiesceHooks(HookConfig config, std::string root) : config_(std::move(config)), root_(std::move(root)) {}

  // True when `op` has a pre- or post-hook.
  bool Has(QuiesceOperation op) const;

  // Claims the hooks of `op` for one operation. Conflict when another
  // quiesced operation holds them. The scope must not outlive this object.
  Result<std::unique_ptr<QuiesceScope>> Claim(QuiesceOperation op) const;

 private:
  friend class QuiesceScope;
  HookConfig config_;
  std::string root_;
  mutable std::atomic<bool> busy_{false};
};

}  // namespace clawback::agent
