// QuiesceHooks and QuiesceScope (quiesce_hooks.h): which hooks an operation
// runs, one quiesced operation at a time, the post-hook exactly once.
#include "agent/hooks/quiesce_hooks.h"

namespace clawback::agent {

bool QuiesceHooks::Has(QuiesceOperation op) const {
  if (op == QuiesceOperation::kBackup) return config_.pre_backup || config_.post_backup;
  return config_.pre_restore || config_.post_restore;
}

Result<std::unique_ptr<QuiesceScope>> QuiesceHooks::Claim(QuiesceOperation op) const {
  bool expected = false;
  if (!busy_.compare_exchange_strong(expected, true)) {
    return Status::Conflict(
        "another quiesced backup or restore is running on this instance; retry when it ends "
        "or ask without quiesce");
  }
  const bool backup = op == QuiesceOperation::kBackup;
  const HookConfig& c = config_;
  const std::optional<HookCommand>& pre = backup ? c.pre_backup : c.pre_restore;
  const std::optional<HookCommand>& post = backup ? c.post_backup : c.post_restore;
  return std::unique_ptr<QuiesceScope>(new QuiesceScope(*this, pre ? &*pre : nullptr, post ? &*post : nullptr,
                                                        backup ? "pre-backup" : "pre-restore",
                                                        backup ? "post-backup" : "post-restore"));
}

QuiesceScope::QuiesceScope(const QuiesceHooks& hooks, const HookCommand* pre, const HookCommand* post,
                           std::string_view pre_name, std::string_view post_name)
    : hooks_(hooks), pre_(pre), post_(post), pre_name_(pre_name), post_name_(post_name) {}

QuiesceScope::~QuiesceScope() {
  End();
  hooks_.busy_.store(false);
}

Status QuiesceScope::Begin() {
  if (began_) return Status::Internal("quiesce pre-hook started twice");
  began_ = true;
  if (pre_ == nullptr) return Status::Ok();
  Status s = RunHook(pre_name_, *pre_, hooks_.root_);
  quiesced_ = s.ok();
  return s;
}

std::optional<std::string> QuiesceScope::End() {
  // Due when the pre-hook was started (or there is none and the operation ran).
  if (ended_ || !began_ || post_ == nullptr) {
    ended_ = true;
    return std::nullopt;
  }
  ended_ = true;
  Status s = RunHook(post_name_, *post_, hooks_.root_);
  if (s.ok()) return std::nullopt;
  return s.message();
}

}  // namespace clawback::agent
