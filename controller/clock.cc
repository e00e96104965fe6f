#include "controller/clock.h"

#include <chrono>

namespace clawback::controller {

UnixTime SystemClock::Now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace clawback::controller
