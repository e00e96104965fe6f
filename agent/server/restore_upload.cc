#include "agent/server/restore_upload.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <nlohmann/json.hpp>

#include "agent/server/http_responses.h"
#include "agent/server/upload_body.h"

namespace clawback::agent {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using json = nlohmann::json;

constexpr uint64_t kDrainAfterFailure = 16 * 1024 * 1024;

using upload::UploadBody;

json ChangeJson(const ChangeList& list, bool with_names) {
  json out = {{"count", list.count}};
  if (with_names) out["first"] = list.first;
  return out;
}

json SkippedJson(const std::vector<SkippedEntry>& skipped) {
  json out = json::array();
  for (const SkippedEntry& s : skipped) out.push_back({{"path", s.path}, {"reason", s.reason}});
  return out;
}

}  // namespace

RestoreUploadResult ServeRestore(TransferStream& io, http::request_parser<http::empty_body>&& header,
                                 beast::flat_buffer buffer, const RestoreOptions& options, QuiesceScope* quiesce,
                                 bool expect_continue, unsigned http_version) {
  RestoreUploadResult out;
  Status pre = quiesce != nullptr ? quiesce->Begin() : Status::Ok();
  out.quiesced = quiesce != nullptr && quiesce->quiesced();
  // A failed pre-hook answers at once: a client waiting for 100 never sends
  // the body; one that did not wait has it drained below.
  if (expect_continue && pre.ok()) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    Status s = io.WriteAll(kContinue, sizeof kContinue - 1);
    if (!s.ok()) {
      out.restore = Status::Corruption("stream cut before the body: " + s.message());
      return out;
    }
    out.bytes_out += sizeof kContinue - 1;
  }

  UploadBody body(io, std::move(header), buffer);
  out.restore = pre.ok() ? ExtractRestore(options, body, &out.partial) : Result<RestoreSummary>(pre);
  out.bytes_in = body.bytes();
  if (quiesce != nullptr) {
    if (std::optional<std::string> warning = quiesce->End())
      (out.restore.ok() ? out.restore.value() : out.partial).warnings.push_back(*warning);
  }
  // A broken upload has no one left to answer.
  if (body.broken()) return out;
  if (!out.restore.ok() && !body.done() && !(expect_continue && !pre.ok())) {
    body.Drain(kDrainAfterFailure);
    out.bytes_in = body.bytes();
  }

  const RestoreSummary& s = out.restore.ok() ? out.restore.value() : out.partial;
  json response = {{"entries_written", s.entries_written},
                   {"bytes_written", s.bytes_written},
                   {"skipped", SkippedJson(s.skipped)},
                   {"warnings", s.warnings},
                   {"quiesced", out.quiesced}};
  if (options.dry_run) {
    response["dry_run"] = true;
    response["entries"] = s.entries;
    response["changes"] = {{"create", ChangeJson(s.changes.create, true)},
                           {"replace", ChangeJson(s.changes.replace, true)},
                           {"unchanged", ChangeJson(s.changes.unchanged, true)}};
  } else {
    response["changes"] = {{"create", ChangeJson(s.changes.create, false)},
                           {"replace", ChangeJson(s.changes.replace, false)}};
  }
  if (out.restore.ok()) {
    response["status"] = "ok";
    out.http_status = 200;
  } else {
    response["error"] = out.restore.status().message();
    response["code"] = Status::CodeName(out.restore.status().code());
    out.http_status = HttpStatusFor(out.restore.status());
  }
  out.bytes_out += WriteJsonResponse(io, out.http_status, response, http_version);
  io.FinishWrites();
  return out;
}

}  // namespace clawback::agent
