// Human output for the CLI: aligned tables, key/value blocks, byte sizes,
// times, and a progress line on stderr. `--json` output bypasses all of it
// and prints the API's JSON (PrintJson).
//
// None of this is thread-safe; the CLI is single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace clawback::controller::cli {

// Columns padded to their widest cell, two spaces apart, header in capitals;
// the last column is not padded (no trailing blanks).
class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void AddRow(std::vector<std::string> cells);  // missing cells print empty
  std::string Render() const;
  size_t rows() const { return rows_.size(); }

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "label:  value" lines with labels aligned.
std::string RenderFields(const std::vector<std::pair<std::string, std::string>>& fields);

// 0 -> "0 B", 1536 -> "1.5 KiB", 5e9 -> "4.7 GiB".
std::string FormatBytes(uint64_t bytes);

// A JSON member for display: missing/null -> "-", strings as is, numbers,
// booleans as "yes"/"no", arrays joined with ",".
std::string Field(const nlohmann::json& object, const std::string& key);

// "2026-11-25T02:00:00Z" -> "2026-11-25 02:00:00" (UTC stays UTC; "-" for null).
std::string ShortTime(const nlohmann::json& object, const std::string& key);

// Seconds since the epoch as RFC 3339 UTC.
std::string FormatUtc(int64_t unix_seconds);

// Pretty JSON + newline.
void PrintJson(std::ostream& out, const nlohmann::json& json);

// A one-line progress display redrawn in place ("\r") on a terminal. When
// disabled (not a terminal, --json, --quiet) it prints nothing.
class ProgressBar {
 public:
  // `total` 0 means unknown: bytes and rate only, no bar.
  ProgressBar(std::ostream& out, std::string label, uint64_t total, bool enabled);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void set_total(uint64_t total) { total_ = total; }
  // Redraws at most every 100 ms (always on the first call).
  void Update(uint64_t done);
  // Draws the final state and ends the line.
  void Finish();

  // The line Update would draw, without the '\r' (for tests).
  std::string Render(uint64_t done, double seconds) const;

 private:
  std::ostream& out_;
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  bool finished_ = false;
  uint64_t last_done_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace clawback::controller::cli
