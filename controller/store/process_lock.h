// An advisory, whole-process lock on a file, so that only one clawback
// controller uses a given store at a time (two would run every schedule
// twice and race on the same backup files).
//
// ProcessLock::Acquire creates `path` if needed, takes flock(LOCK_EX|LOCK_NB)
// on it and writes the holder's pid into it for the error message the next
// process sees. The lock lives as long as the object (move-only RAII); the
// kernel drops it if the process dies, so a stale file never blocks startup.
// The file itself is left in place: deleting lock files races.
//
// flock locks belong to the open file description, so a second Acquire in
// the same process conflicts too. Errors: Unavailable when another holder
// has it ("another clawback process (pid 812) is using it"), IoError with the
// system's reason otherwise ("read-only file system").
#pragma once

#include <string>

#include "shared/status.h"

namespace clawback::controller::store {

class ProcessLock {
 public:
  static Result<ProcessLock> Acquire(const std::string& path);

  ProcessLock() = default;  // holds nothing
  ProcessLock(ProcessLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  ProcessLock& operator=(ProcessLock&& other) noexcept;
  ProcessLock(const ProcessLock&) = delete;
  ProcessLock& operator=(const ProcessLock&) = delete;
  ~ProcessLock();

  bool held() const { return fd_ >= 0; }

 private:
  explicit ProcessLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace clawback::controller::store
