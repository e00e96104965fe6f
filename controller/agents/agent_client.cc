// AgentConnector over the blocking HTTPS core (controller/https): one mTLS
// connection per call, resuming the agent's last TLS session when it has one
// (agent_sessions.h; the identity check runs after every handshake), driven
// on the calling thread with plain SSL_read/SSL_write and poll(). Every network step has a limit (connect,
// handshake, and "no byte for stall_timeout" while streaming - never a total
// duration), and the caller's cancel flag is polled every 100 ms while a step
// waits.
//
// Archive bodies move in large pieces: a backup is read straight into the
// receiver's buffers (many TLS records per wake-up), a restore is written a
// whole verified block per call. Hashing, disk writes and progress records
// are the receiver's and provider's business, on their own threads.
//
// The request body and the trailers each have one small function
// (BackupRequestBody, SummaryFromTrailers): new protocol fields go there.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/agents/agent_connector.h"
#include "controller/agents/agent_sessions.h"
#include "shared/drill_protocol.h"
#include "controller/agents/agent_url.h"
#include "controller/agents/health_prober.h"
#include "controller/https/https_connection.h"
#include "shared/http_status.h"
#include "shared/protocol.h"
#include "shared/tls.h"

namespace clawback::controller {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kConnectTimeout{10000};
constexpr milliseconds kProbeTimeout{5000};
constexpr size_t kJsonBodyLimit = 1024 * 1024;
constexpr size_t kHeaderLimit = 64 * 1024;  // headers + trailers (warning detail <= 4 KiB)


// The "error" member of an agent's JSON error body, or the raw body.
std::string AgentErrorMessage(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) return json["error"].get<std::string>();
  std::string trimmed = body.substr(0, 200);
  return trimmed.empty() ? "no error message" : trimmed;
}

// The agent's error as a Status: the exact code from the body's "code" when
// the agent sent one, else the code that stands for the HTTP status
// (shared/http_status.h, the mapping both binaries use).
Status AgentError(int http_status, const std::string& body, std::string message) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string code;
  if (json.is_object() && json.contains("code") && json["code"].is_string()) code = json["code"].get<std::string>();
  return Status(CodeForHttpStatus(http_status, code), std::move(message));
}

uint64_t ParseDecimal(std::string_view text) {
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// The JSON body of POST /v1/backup.
std::string BackupRequestBody(const AgentBackupRequest& request) {
  return nlohmann::json{{protocol::kFieldPaths, request.paths},
                        {protocol::kFieldExcludes, request.excludes},
                        {protocol::kFieldStrict, request.strict}}
      .dump();
}

// What the trailers of a whole backup stream said. Corruption unless the
// agent declared the archive whole (Clawback-Status: ok). `field` answers a
// trailer by name ("" when absent).
using FieldReader = std::function<std::string(std::string_view)>;
Result<StreamSummary> SummaryFromTrailers(const FieldReader& field, uint64_t received, const std::string& where) {
  std::string status = field(protocol::kTrailerStatus);
  if (status == "error") {
    // A refusal the agent decided after the first byte (e.g. `strict`).
    std::string why = field(protocol::kTrailerError);
    return Status::FailedPrecondition(where + " failed the backup: " + (why.empty() ? "no reason given" : why));
  }
  if (status != "ok") {
    return Status::Corruption("stream from " + where + " ended after " + std::to_string(received) + " bytes without " +
                              std::string(protocol::kTrailerStatus) + ": ok" +
                              (status.empty() ? "" : " (it said: " + status + ")"));
  }
  StreamSummary summary;
  summary.entries = ParseDecimal(field(protocol::kTrailerEntries));
  const std::string format = field(protocol::kTrailerArchiveFormat);
  if (!format.empty() && format != "1") {
    if (format != protocol::kArchiveFormatSeekable) {
      return Status::Corruption(where + " sent an archive of unknown format " + format);
    }
    summary.archive_format = 2;
    const std::string count = field(protocol::kTrailerIndexEntries);
    if (!count.empty()) summary.index_entries = ParseDecimal(count);
  }
  summary.bytes_read = ParseDecimal(field(protocol::kTrailerBytesRead));
  summary.bytes_sent = ParseDecimal(field(protocol::kTrailerBytesSent));
  summary.sha256 = field(protocol::kTrailerSha256);
  summary.databases_captured = ParseDecimal(field(protocol::kTrailerDatabases));
  summary.databases_raw = ParseDecimal(field(protocol::kTrailerDatabasesRaw));
  auto detail = nlohmann::json::parse(field(protocol::kTrailerWarningDetail), nullptr, false);
  if (detail.is_array()) {
    for (const auto& w : detail) {
      if (w.is_string()) summary.warnings.push_back(w.get<std::string>());
    }
  }
  uint64_t warning_count = ParseDecimal(field(protocol::kTrailerWarnings));
  if (warning_count > summary.warnings.size()) {
    summary.warnings.push_back(std::to_string(warning_count - summary.warnings.size()) + " more warnings not shown");
  }
  return summary;
}

// The agent's answer to POST /v1/restore.
Result<AgentRestoreResult> RestoreResultFrom(int http_status, const std::string& body, const std::string& where) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  auto number = [&](const char* key) -> uint64_t {
    return json.is_object() && json.contains(key) && json[key].is_number_unsigned() ? json[key].get<uint64_t>() : 0;
  };
  if (http_status != 200) {
    std::string message = AgentErrorMessage(body);
    if (json.is_object() && json.contains("entries_written")) {
      message += " (" + std::to_string(number("entries_written")) + " entries, " +
                 std::to_string(number("bytes_written")) + " bytes written before the failure)";
    }
    return AgentError(http_status, body, message);
  }
  if (!json.is_object()) return Status::Corruption(where + " sent an unreadable restore summary");
  AgentRestoreResult result;
  result.answer_json = body;
  result.entries_written = number("entries_written");
  result.bytes_written = number("bytes_written");
  if (json.contains("skipped") && json["skipped"].is_array()) result.skipped_json = json["skipped"].dump();
  result.quiesced = json.contains("quiesced") && json["quiesced"].is_boolean() && json["quiesced"].get<bool>();
  result.dry_run = json.contains("dry_run") && json["dry_run"].is_boolean() && json["dry_run"].get<bool>();
  if (json.contains("changes") && json["changes"].is_object()) result.changes_json = json["changes"].dump();
  if (json.contains("warnings") && json["warnings"].is_array()) {
    for (const auto& w : json["warnings"]) {
      if (w.is_string()) result.warnings.push_back(w.get<std::string>());
    }
  }
  return result;
}

// One mTLS connection to one agent, used by one call on one thread.
class AgentCall {
 public:
  // `sessions` (may be null) supplies a session to resume and receives the
  // next one (KeepSession).
  AgentCall(SSL_CTX* ctx, AgentSessions* sessions, const Instance& instance, const std::atomic<bool>* cancel)
      : ctx_(ctx), sessions_(sessions), instance_(instance), cancel_(cancel), where_("agent at " + instance.agent_url) {}

  // After a call that went through whole: keeps the connection's session so
  // the next call to this agent resumes it.
  void KeepSession() {
    if (sessions_ != nullptr && conn_ != nullptr) sessions_->Put(instance_, conn_->ResumableSession());
  }

  // Short reason for the prober ("connection refused"); set when Open fails.
  const std::string& failure_reason() const { return failure_reason_; }

  // Resolves, connects, handshakes and checks the agent's identity.
  Status Open(milliseconds timeout) {
    auto endpoint = ParseAgentUrl(instance_.agent_url);
    if (!endpoint.ok()) return Fail(endpoint.status(), endpoint.status().message());
    host_header_ = instance_.agent_url.substr(std::string_view("https://").size());
    if (!host_header_.empty() && host_header_.back() == '/') host_header_.pop_back();

    https::SessionPtr offered = sessions_ != nullptr ? sessions_->Get(instance_) : nullptr;
    https::ConnectOptions options{endpoint->host, endpoint->port_text(), timeout, cancel_};
    options.session = offered.get();
    auto conn = https::Connection::Open(ctx_, options);
    if (!conn.ok() || offered != nullptr) {
      // Whatever went wrong, the next attempt starts with a full handshake;
      // on success the session is kept again by KeepSession().
      if (sessions_ != nullptr) sessions_->Forget(instance_.id);
    }
    if (!conn.ok()) {
      if (conn.status().code() == Status::Code::kCanceled) return Status::Canceled("canceled");
      const std::string& reason = conn.status().message();
      bool handshake = reason.rfind("TLS handshake", 0) == 0;
      return Fail(Status::Unavailable(where_ + (handshake ? ": " : " unreachable: ") + reason), reason);
    }
    conn_ = std::move(conn).value();

    const std::string expected = tls::InstanceIdentity(instance_.name);
    auto identity = tls::PeerIdentity(conn_->ssl());
    if (!identity.ok()) {
      std::string reason = "identity mismatch: " + identity.status().message() + ", expected " + expected;
      return Fail(Status::Unauthenticated(where_ + " " + identity.status().message() + ", expected " + expected +
                                          ": refusing to talk to it"),
                  reason);
    }
    if (*identity != expected) {
      std::string reason = "identity mismatch: agent presented " + *identity + ", expected " + expected;
      return Fail(Status::Unauthenticated(where_ + " presented identity " + *identity + ", expected " + expected +
                                          ": refusing to talk to it"),
                  reason);
    }
    return Status::Ok();
  }

  Result<StreamSummary> StreamBackup(const AgentBackupRequest& request, ArchiveReceiver& receiver, seconds stall) {
    conn_->set_stall_timeout(stall);
    const std::string body = BackupRequestBody(request);
    https::RequestHead head{"POST", std::string(protocol::kBackupPath), host_header_,
                            {{"User-Agent", "clawback-controller"},
                             {"Content-Type", std::string(protocol::kJsonContentType)}},
                            body.size()};
    Status sent = conn_->WriteAll(https::EncodeRequestHead(head) + body);
    if (!sent.ok()) return WriteFailure(sent, stall, 0);

    auto code = conn_->ReadResponseHead(kHeaderLimit);
    if (!code.ok()) return ReadFailure(code.status(), stall, 0, "before the archive started");
    if (*code != 200) return ReadErrorBody(*code);

    uint64_t received = 0;
    for (;;) {
      auto buffer = receiver.Buffer();
      if (!buffer.ok()) return buffer.status();
      auto n = conn_->ReadBody(buffer->data(), buffer->size());
      if (!n.ok()) return ReadFailure(n.status(), stall, received, "");
      CLAWBACK_RETURN_IF_ERROR(receiver.Commit(*n));
      if (*n == 0) break;
      received += *n;
    }
    return SummaryFromTrailers([&](std::string_view name) { return conn_->Field(name); }, received, where_);
  }

  // `target` overrides the request target (the drill path); by default it is
  // the restore path with the query `options` asks for.
  Result<AgentRestoreResult> StreamRestore(ArchiveProvider& provider, const AgentRestoreOptions& options,
                                           seconds stall, const std::function<void(uint64_t)>& on_progress,
                                           std::optional<std::string> target = std::nullopt) {
    conn_->set_stall_timeout(stall);
    const std::optional<uint64_t> size = provider.TotalSize();
    const bool chunked = !size.has_value();
    const uint64_t total = size.value_or(UINT64_MAX);
    std::vector<std::pair<std::string, std::string>> fields{
        {"User-Agent", "clawback-controller"}, {"Content-Type", std::string(protocol::kArchiveContentType)}};
    if (chunked) fields.emplace_back("Transfer-Encoding", "chunked");
    if (!target) {
      target = std::string(protocol::kRestorePath) + "?" + std::string(protocol::kQueryQuiesce) +
               (options.quiesce ? "=1" : "=0");
      if (options.dry_run) *target += "&" + std::string(protocol::kQueryDryRun) + "=1";
    }
    https::RequestHead head{"POST", *target, host_header_, fields, size};
    Status st = conn_->WriteAll(https::EncodeRequestHead(head));
    if (!st.ok()) return AfterWriteFailure(st, stall, 0);

    uint64_t sent = 0;
    char chunk_head[32];
    for (;;) {
      if (cancel_ != nullptr && cancel_->load()) return Status::Canceled("restore canceled");
      auto piece = provider.Next();
      if (!piece.ok()) return piece.status();  // the agent sees a cut stream and keeps nothing whole
      if (piece->empty()) break;
      if (sent + piece->size() > total) return Status::IoError("archive grew while being sent");
      if (chunked) {
        int n = std::snprintf(chunk_head, sizeof chunk_head, "%zx\r\n", piece->size());
        st = conn_->WriteAll(chunk_head, static_cast<size_t>(n));
        if (st.ok()) st = conn_->WriteAll(piece->data(), piece->size());
        if (st.ok()) st = conn_->WriteAll("\r\n", 2);
      } else {
        st = conn_->WriteAll(piece->data(), piece->size());
      }
      if (!st.ok()) return AfterWriteFailure(st, stall, sent);
      sent += piece->size();
      if (on_progress) on_progress(sent);
    }
    if (chunked) {
      // The final chunk only after the whole selection was produced and checked.
      st = conn_->WriteAll("0\r\n\r\n", 5);
      if (!st.ok()) return AfterWriteFailure(st, stall, sent);
    } else if (sent != total) {
      return Status::IoError("archive shrank while being sent: " + std::to_string(sent) + " of " +
                             std::to_string(total) + " bytes");
    }
    // The agent answers once it has extracted the last bytes; allow it time
    // to finish what is still in flight beyond the stall window.
    conn_->set_stall_timeout(stall + seconds(30));
    auto answer = ReadSmall();
    if (!answer.ok()) return ReadFailure(answer.status(), stall, sent, "after the whole archive was sent");
    return RestoreResultFrom(answer->first, answer->second, where_);
  }

  Result<InstanceHealth> ReadInfo(milliseconds timeout) {
    conn_->set_stall_timeout(timeout);
    https::RequestHead head{"GET", std::string(protocol::kInfoPath), host_header_,
                            {{"User-Agent", "clawback-controller"}}, std::nullopt};
    Status st = conn_->WriteAll(https::EncodeRequestHead(head));
    Result<std::pair<int, std::string>> res = st.ok() ? ReadSmall() : Result<std::pair<int, std::string>>(st);
    if (!res.ok()) {
      failure_reason_ = res.status().code() == Status::Code::kDeadlineExceeded
                            ? "agent did not answer /v1/info in time"
                            : "reading /v1/info failed: " + res.status().message();
      return Status::Unavailable(failure_reason_);
    }
    if (res->first != 200) {
      failure_reason_ = "agent answered /v1/info with HTTP " + std::to_string(res->first) + ": " +
                        AgentErrorMessage(res->second);
      return Status::Unavailable(failure_reason_);
    }
    InstanceHealth health;
    health.status = "running";
    auto json = nlohmann::json::parse(res->second, nullptr, false);
    if (json.is_object() && json.contains("version") && json["version"].is_string()) {
      health.agent_version = json["version"].get<std::string>();
    }
    return health;
  }

 private:
  Status Fail(Status status, std::string reason) {
    failure_reason_ = std::move(reason);
    return status;
  }

  // A whole response with a JSON (or short text) body: (HTTP status, body).
  Result<std::pair<int, std::string>> ReadSmall() {
    auto code = conn_->ReadResponseHead(kHeaderLimit);
    if (!code.ok()) return code.status();
    auto body = conn_->ReadBodyToString(kJsonBodyLimit);
    if (!body.ok()) return body.status();
    return std::make_pair(*code, std::move(body).value());
  }

  Status ReadFailure(const Status& st, seconds stall, uint64_t received, const std::string& when) {
    switch (st.code()) {
      case Status::Code::kCanceled: return Status::Canceled("canceled by request");
      case Status::Code::kDeadlineExceeded:
        return Status::DeadlineExceeded("stalled: no data from agent for " + std::to_string(stall.count()) + " s");
      case Status::Code::kUnavailable:
        if (!when.empty()) return Status::Unavailable(where_ + " closed the connection " + when + " (" + st.message() + ")");
        return Status::Corruption("stream truncated after " + std::to_string(received) +
                                  " bytes: agent connection closed before the end of the archive");
      default:
        return Status::Corruption("stream from " + where_ + " broken after " + std::to_string(received) +
                                  " bytes: " + st.message());
    }
  }

  Status WriteFailure(const Status& st, seconds stall, uint64_t sent) {
    if (st.code() == Status::Code::kCanceled) return Status::Canceled("canceled by request");
    if (st.code() == Status::Code::kDeadlineExceeded) {
      return Status::DeadlineExceeded("stalled: agent accepted no data for " + std::to_string(stall.count()) + " s");
    }
    return Status::Unavailable("sending to " + where_ + " failed after " + std::to_string(sent) +
                               " bytes: " + st.message());
  }

  // A write broke: the agent may have answered with an error and closed
  // (e.g. 422 corrupt archive). Prefer its answer over our write error.
  Result<AgentRestoreResult> AfterWriteFailure(const Status& st, seconds stall, uint64_t sent) {
    if (st.code() == Status::Code::kCanceled || st.code() == Status::Code::kDeadlineExceeded) {
      return WriteFailure(st, stall, sent);
    }
    conn_->set_stall_timeout(seconds(5));
    auto answer = ReadSmall();
    if (answer.ok()) return RestoreResultFrom(answer->first, answer->second, where_);
    return WriteFailure(st, stall, sent);
  }

  Status ReadErrorBody(int code) {
    auto body = conn_->ReadBodyToString(kJsonBodyLimit);
    std::string message = body.ok() ? AgentErrorMessage(*body) : "no error message";
    return AgentError(code, body.ok() ? *body : std::string(), message);
  }

  SSL_CTX* ctx_;
  AgentSessions* sessions_;
  const Instance& instance_;
  const std::atomic<bool>* cancel_;
  std::unique_ptr<https::Connection> conn_;
  std::string where_;
  std::string host_header_;
  std::string failure_reason_;
};

class MtlsAgentConnector final : public AgentConnector {
 public:
  explicit MtlsAgentConnector(std::shared_ptr<boost::asio::ssl::context> ctx)
      : ctx_(std::move(ctx)), prober_([this](const Instance& i) { return ProbeNow(i, kProbeTimeout); },
                                      /*parallelism=*/16) {}
  ~MtlsAgentConnector() override { prober_.Stop(); }

  InstanceHealth Probe(const Instance& instance) override { return ProbeWithin(instance, kProbeTimeout); }

  InstanceHealth ProbeWithin(const Instance& instance, milliseconds timeout) override {
    InstanceHealth health = ProbeNow(instance, timeout);
    prober_.Record(instance.id, health);
    return health;
  }

  InstanceHealth Health(Id instance_id) const override { return prober_.Get(instance_id); }

  void StartProber(std::function<std::vector<Instance>()> list_instances, std::chrono::seconds interval) override {
    prober_.Start(std::move(list_instances), interval);
  }
  void StopProber() override { prober_.Stop(); }

  Result<StreamSummary> Backup(const Instance& instance, const AgentBackupRequest& request,
                               ArchiveReceiver& receiver, const std::atomic<bool>& cancel,
                               std::chrono::seconds stall_timeout) override {
    AgentCall call(ctx_->native_handle(), &sessions_, instance, &cancel);
    CLAWBACK_RETURN_IF_ERROR(call.Open(std::min<milliseconds>(stall_timeout, kConnectTimeout)));
    auto result = call.StreamBackup(request, receiver, stall_timeout);
    if (!result.ok() && cancel.load()) return Status::Canceled("backup canceled");
    if (result.ok()) call.KeepSession();
    return result;
  }

  Result<AgentRestoreResult> Restore(const Instance& instance, ArchiveProvider& provider,
                                     const AgentRestoreOptions& options, const std::atomic<bool>& cancel,
                                     std::chrono::seconds stall_timeout,
                                     std::function<void(uint64_t)> on_progress) override {
    AgentCall call(ctx_->native_handle(), &sessions_, instance, &cancel);
    CLAWBACK_RETURN_IF_ERROR(call.Open(std::min<milliseconds>(stall_timeout, kConnectTimeout)));
    auto result = call.StreamRestore(provider, options, stall_timeout, on_progress);
    if (!result.ok() && cancel.load()) return Status::Canceled("restore canceled");
    if (result.ok()) call.KeepSession();
    return result;
  }

  Result<AgentRestoreResult> Drill(const Instance& instance, ArchiveProvider& provider,
                                   const std::atomic<bool>& cancel, std::chrono::seconds stall_timeout) override {
    AgentCall call(ctx_->native_handle(), &sessions_, instance, &cancel);
    CLAWBACK_RETURN_IF_ERROR(call.Open(std::min<milliseconds>(stall_timeout, kConnectTimeout)));
    auto result = call.StreamRestore(provider, AgentRestoreOptions{.quiesce = false}, stall_timeout, nullptr,
                                     std::string(protocol::kDrillPath));
    if (!result.ok() && cancel.load()) return Status::Canceled("drill canceled");
    if (result.ok()) call.KeepSession();
    return result;
  }

 private:
  InstanceHealth ProbeNow(const Instance& instance, milliseconds timeout) {
    InstanceHealth health;
    health.checked_at = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    AgentCall call(ctx_->native_handle(), &sessions_, instance, nullptr);
    Status opened = call.Open(timeout);
    if (!opened.ok()) {
      health.status = "unreachable";
      health.reason = call.failure_reason().empty() ? opened.message() : call.failure_reason();
      return health;
    }
    auto info = call.ReadInfo(timeout);
    if (!info.ok()) {
      health.status = "unreachable";
      health.reason = info.status().message();
      return health;
    }
    info->checked_at = health.checked_at;
    call.KeepSession();
    return std::move(info).value();
  }

  std::shared_ptr<boost::asio::ssl::context> ctx_;
  AgentSessions sessions_;  // before prober_: probes use it until the prober stops
  HealthProber prober_;
};

}  // namespace

Result<std::unique_ptr<AgentConnector>> MakeAgentConnector(const AgentClientFiles& files) {
  auto ctx = tls::MakeClientContext({files.cert_file, files.key_file, files.ca_file});
  if (!ctx.ok()) return ctx.status().WithContext("loading the controller's agent client identity");

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(files.cert_file.c_str(), "r"), BIO_free);
  if (!bio) return Status::IoError("cannot read controller certificate " + files.cert_file);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free);
  if (!cert) return Status::InvalidArgument("controller certificate " + files.cert_file + " is not a PEM certificate");
  auto sans = tls::UriSans(cert.get());
  if (std::find(sans.begin(), sans.end(), protocol::kControllerIdentity) == sans.end()) {
    return Status::InvalidArgument("controller certificate " + files.cert_file + " lacks the URI SAN " +
                                   std::string(protocol::kControllerIdentity));
  }
  return std::unique_ptr<AgentConnector>(std::make_unique<MtlsAgentConnector>(std::move(ctx).value()));
}

}  // namespace clawback::controller
