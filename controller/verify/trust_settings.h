// Controller-wide settings of the "know that backups restore" features
// (`clawback serve` flags, docs/operations.md "Verification and alerts").
#pragma once

#include <cstdint>

namespace clawback::controller {

struct TrustSettings {
  uint64_t verify_bytes_per_second = 64ull * 1024 * 1024;  // --verify-rate (0: unlimited)
  bool verify_after_backup = false;     // --verify-after-backup: every completed backup
  int reverify_after_days = 0;          // --reverify-days: re-verify when the last pass is older (0: off)
  int daily_sample_percent = 0;         // --verify-sample-percent: of completed backups, once a day (0: off)
  int64_t unprotected_after_s = 2 * 86400;  // --unprotected-after: no good backup for longer -> unprotected
  int drill_every_days = 0;             // --drill-every-days: drill each instance's latest backup this often (0: off)
  int drill_concurrency = 1;            // --drill-concurrency: drills running at once
  int webhook_timeout_s = 5;            // --webhook-timeout: per connect/write/read of a delivery
  int webhook_max_attempts = 5;         // --webhook-attempts
  int webhook_first_backoff_ms = 2000;  // --webhook-backoff-ms: first retry delay, doubled per attempt
};

}  // namespace clawback::controller
