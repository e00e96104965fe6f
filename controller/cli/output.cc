#include "controller/clock.h"
#include "controller/cli/output.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace clawback::controller::cli {

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {
  for (auto& h : headers_) {
    std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) { return std::toupper(c); });
  }
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render() const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = headers_[i].size();
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    std::string text;
    for (size_t i = 0; i < cells.size(); ++i) {
      text += cells[i];
      if (i + 1 < cells.size()) text += std::string(widths[i] - cells[i].size() + 2, ' ');
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
  return out;
}

std::string RenderFields(const std::vector<std::pair<std::string, std::string>>& fields) {
  size_t width = 0;
  for (const auto& [label, value] : fields) width = std::max(width, label.size());
  std::string out;
  for (const auto& [label, value] : fields) {
    out += label + ":" + std::string(width - label.size() + 2, ' ') + value + "\n";
  }
  return out;
}

std::string FormatBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), value < 10 ? "%.1f %s" : "%.0f %s", value, kUnits[unit]);
  return buf;
}

std::string Field(const nlohmann::json& object, const std::string& key) {
  if (!object.is_object() || !object.contains(key)) return "-";
  const auto& v = object[key];
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) {
      if (!out.empty()) out += ",";
      out += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return out.empty() ? "-" : out;
  }
  return v.dump();
}

std::string ShortTime(const nlohmann::json& object, const std::string& key) {
  std::string t = Field(object, key);
  if (t.size() == 20 && t[10] == 'T' && t.back() == 'Z') {
    t[10] = ' ';
    t.pop_back();
  }
  return t;
}

std::string FormatUtc(int64_t unix_seconds) { return FormatUtcRfc3339(unix_seconds); }

void PrintJson(std::ostream& out, const nlohmann::json& json) { out << json.dump(2) << "\n"; }

ProgressBar::ProgressBar(std::ostream& out, std::string label, uint64_t total, bool enabled)
    : out_(out),
      label_(std::move(label)),
      total_(total),
      enabled_(enabled),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  // A bar interrupted by an error still ends its line, so the error message
  // starts on a fresh one.
  if (enabled_ && drawn_ && !finished_) out_ << "\n" << std::flush;
}

std::string ProgressBar::Render(uint64_t done, double seconds) const {
  std::ostringstream line;
  line << label_ << " ";
  if (total_ > 0) {
    constexpr int kWidth = 30;
    double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total_));
    int filled = static_cast<int>(std::floor(fraction * kWidth));
    line << "[" << std::string(filled, '#') << std::string(kWidth - filled, '-') << "] ";
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%3d%%", static_cast<int>(fraction * 100));
    line << pct << " " << FormatBytes(done) << "/" << FormatBytes(total_);
  } else {
    line << FormatBytes(done);
  }
  if (seconds > 0.5) {
    line << "  " << FormatBytes(static_cast<uint64_t>(static_cast<double>(done) / seconds)) << "/s";
  }
  return line.str();
}

void ProgressBar::Update(uint64_t done) {
  if (!enabled_) return;
  auto now = std::chrono::steady_clock::now();
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) {
    last_done_ = done;
    return;
  }
  last_done_ = done;
  last_draw_ = now;
  drawn_ = true;
  double seconds = std::chrono::duration<double>(now - start_).count();
  out_ << "\r" << Render(done, seconds) << "\x1b[K" << std::flush;
}

void ProgressBar::Finish() {
  if (!enabled_ || finished_) return;
  finished_ = true;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  out_ << "\r" << Render(total_ > 0 ? std::max(last_done_, total_) : last_done_, seconds) << "\x1b[K\n"
       << std::flush;
}

}  // namespace clawback::controller::cli
