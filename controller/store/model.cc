#include "controller/store/model.h"

namespace clawback::controller {

std::string_view RoleName(Role role) { return role == Role::kAdmin ? "admin" : "user"; }

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "user") return Role::kUser;
  return std::nullopt;
}

std::string_view BackupStatusName(BackupStatus status) {
  switch (status) {
    case BackupStatus::kQueued: return "queued";
    case BackupStatus::kRunning: return "running";
    case BackupStatus::kCompleted: return "completed";
    case BackupStatus::kFailed: return "failed";
    case BackupStatus::kCanceled: return "canceled";
  }
  return "failed";
}

std::optional<BackupStatus> ParseBackupStatus(std::string_view name) {
  for (BackupStatus s : {BackupStatus::kQueued, BackupStatus::kRunning, BackupStatus::kCompleted,
                         BackupStatus::kFailed, BackupStatus::kCanceled}) {
    if (BackupStatusName(s) == name) return s;
  }
  return std::nullopt;
}

bool IsFinal(BackupStatus status) {
  return status == BackupStatus::kCompleted || status == BackupStatus::kFailed ||
         status == BackupStatus::kCanceled;
}

}  // namespace clawback::controller
