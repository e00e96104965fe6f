#include "controller/background_priority.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace clawback::controller {

void LowerThisThreadForBulkWork() {
  thread_local bool lowered = false;  // once per thread: threads are reused
  if (lowered) return;
  lowered = true;
  const id_t tid = static_cast<id_t>(::syscall(SYS_gettid));
  errno = 0;
  const int now = ::getpriority(PRIO_PROCESS, tid);
  if (now == -1 && errno != 0) return;
  (void)::setpriority(PRIO_PROCESS, tid, now + kBackgroundNice);
}

}  // namespace clawback::controller
