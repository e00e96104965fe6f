// Bulk work (archive transfers, health probes) runs at a lower CPU priority
// than the API and the scheduler, so that when the CPU is short a person
// waiting for a page is served before a byte of a backup moves; when the CPU
// is idle it changes nothing. Linux threads carry their own nice value and
// threads they start inherit it.
#pragma once

namespace clawback::controller {

// How many nice steps bulk threads sit below the process's other threads.
inline constexpr int kBackgroundNice = 5;

// Raises the calling thread's nice value by kBackgroundNice, once per thread
// (later calls do nothing; a failure leaves it as it was: this is a
// preference, not a contract). Call it only on threads that do bulk work.
void LowerThisThreadForBulkWork();

}  // namespace clawback::controller
