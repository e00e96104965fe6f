#include "agent/server/drill_upload.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/archive/drill_check.h"
#include "agent/server/http_responses.h"
#include "agent/server/upload_body.h"
#include "shared/log.h"

namespace clawback::agent {
namespace {

using json = nlohmann::json;
namespace beast = boost::beast;
namespace http = beast::http;
constexpr uint64_t kDrainAfterFailure = 16 * 1024 * 1024;

// A fresh directory below drill_dir, removed (with everything in it) when
// this goes away.
class ScratchTree {
 public:
  static Result<std::unique_ptr<ScratchTree>> Create(const std::string& drill_dir) {
    std::string pattern = drill_dir + "/drill-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      return Status::IoError("cannot create a scratch directory in the drill directory: " +
                             std::string(std::strerror(errno)));
    }
    return std::unique_ptr<ScratchTree>(new ScratchTree(buf.data()));
  }
  ~ScratchTree() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // never follows symlinks
    if (ec) log::Error("cannot remove a drill's scratch tree", {{"path", path_}, {"error", ec.message()}});
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchTree(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace

DrillUploadResult ServeDrill(TransferStream& io, http::request_parser<http::empty_body>&& header,
                             beast::flat_buffer buffer, const DrillOptions& options, bool expect_continue,
                             unsigned http_version) {
  DrillUploadResult out;
  const auto t0 = std::chrono::steady_clock::now();
  auto scratch = ScratchTree::Create(options.drill_dir);
  if (scratch.ok() && expect_continue) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    Status s = io.WriteAll(kContinue, sizeof kContinue - 1);
    if (!s.ok()) {
      out.status = Status::Corruption("stream cut before the body: " + s.message());
      return out;
    }
    out.bytes_out += sizeof kContinue - 1;
  }

  upload::UploadBody body(io, std::move(header), buffer);
  IndexCapture capture(body);
  RestoreSummary partial;
  Result<RestoreSummary> extracted = Status::Internal("not extracted");
  DrillTreeReport report;
  if (!scratch.ok()) {
    out.status = scratch.status();
  } else {
    RestoreOptions restore;
    restore.root = (*scratch)->path();
    restore.allow_devices = false;
    restore.resolution = options.resolution;
    restore.cancel = options.cancel;
    extracted = ExtractRestore(restore, capture, &partial);
    out.status = extracted.status();
    if (extracted.ok()) {
      std::set<std::string> skipped;
      for (const SkippedEntry& s : extracted->skipped) skipped.insert(s.path);
      auto checked = CheckDrillTree((*scratch)->path(), capture.index_payload(), skipped);
      if (!checked.ok()) {
        out.status = checked.status();
      } else {
        report = std::move(*checked);
        if (!report.mismatches.empty()) {
          std::string message = std::to_string(report.mismatches.size()) + " mismatch(es): ";
          for (size_t i = 0; i < report.mismatches.size() && i < 5; ++i) {
            message += (i ? "; " : "") + report.mismatches[i].path + ": " + report.mismatches[i].problem;
          }
          out.status = Status::Corruption(message);
        }
      }
    }
  }
  const RestoreSummary& s = extracted.ok() ? extracted.value() : partial;
  out.entries = s.entries_written;
  out.bytes = s.bytes_written;
  out.mismatches = report.mismatches.size();
  out.bytes_in = body.bytes();
  if (scratch.ok()) scratch->reset();  // the scratch tree goes before the answer
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (body.broken()) return out;
  if (!out.status.ok() && !body.done()) {
    body.Drain(kDrainAfterFailure);
    out.bytes_in = body.bytes();
  }
  json mismatches = json::array();
  for (const DrillMismatch& m : report.mismatches) mismatches.push_back({{"path", m.path}, {"problem", m.problem}});
  json skipped = json::array();
  for (const SkippedEntry& e : s.skipped) skipped.push_back({{"path", e.path}, {"reason", e.reason}});
  json response = {{"entries", s.entries_written},
                   {"bytes", s.bytes_written},
                   {"duration_ms", static_cast<uint64_t>(seconds * 1000)},
                   {"files_checked", report.files_checked},
                   {"databases_checked", report.databases_checked},
                   {"index", report.index},
                   {"skipped", skipped},
                   {"mismatches", mismatches}};
  if (out.status.ok()) {
    response["status"] = "ok";
    out.http_status = 200;
  } else {
    response["error"] = out.status.message();
    response["code"] = Status::CodeName(out.status.code());
    out.http_status = HttpStatusFor(out.status);
  }
  out.bytes_out += WriteJsonResponse(io, out.http_status, response, http_version);
  io.FinishWrites();
  return out;
}

}  // namespace clawback::agent
