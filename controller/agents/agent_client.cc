// AgentConnector over Boost.Beast + Asio SSL: one mTLS connection per call,
// driven on a per-call io_context in the calling thread. Every network step
// has a deadline (connect, handshake, and "no byte for stall_timeout" while
// streaming - never a total duration), and the caller's cancel flag is polled
// every kCancelPoll while a step is pending.
//
// Archive bodies move one TLS record (<= 16 KiB) per step, so the streaming
// loops use a cheap step (StreamStep: run handlers until this one completes)
// and one watchdog timer per stream instead of a deadline armed and canceled
// on every read: the per-step timer and polling loop cost more CPU than
// decrypting and hashing the bytes.
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "controller/agents/agent_connector.h"
#include "controller/agents/agent_url.h"
#include "controller/agents/health_prober.h"
#include "shared/protocol.h"
#include "shared/tls.h"

namespace clawback::controller {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using std::chrono::seconds;

constexpr auto kCancelPoll = std::chrono::milliseconds(100);
constexpr seconds kConnectTimeout{10};
constexpr seconds kProbeTimeout{5};
constexpr size_t kStreamBufferSize = 256 * 1024;
constexpr uint64_t kJsonBodyLimit = 1024 * 1024;
constexpr uint32_t kHeaderLimit = 64 * 1024;  // headers + trailers (warning detail <= 4 KiB)

std::string LowerFirst(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// The "error" member of an agent's JSON error body, or the raw body.
std::string AgentErrorMessage(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) return json["error"].get<std::string>();
  std::string trimmed = body.substr(0, 200);
  return trimmed.empty() ? "no error message" : trimmed;
}

Status::Code CodeForHttpStatus(unsigned status) {
  switch (status) {
    case 400: return Status::Code::kInvalidArgument;
    case 401: return Status::Code::kUnauthenticated;
    case 403: return Status::Code::kPermissionDenied;
    case 404: return Status::Code::kNotFound;
    case 409: return Status::Code::kConflict;
    case 413: case 429: case 507: return Status::Code::kResourceExhausted;
    case 422: return Status::Code::kCorruption;
    case 502: case 503: return Status::Code::kUnavailable;
    case 504: return Status::Code::kDeadlineExceeded;
    default: return status >= 500 ? Status::Code::kInternal : Status::Code::kFailedPrecondition;
  }
}

bool IsTruncation(const beast::error_code& ec) {
  return ec == http::error::partial_message || ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == ssl::error::stream_truncated || ec == net::error::connection_reset ||
         ec == net::error::connection_aborted || ec == net::error::broken_pipe;
}

uint64_t ParseDecimal(std::string_view text) {
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// One mTLS connection to one agent, used by one call on one thread.
class AgentCall {
 public:
  AgentCall(ssl::context& ctx, const Instance& instance, const std::atomic<bool>* cancel)
      : instance_(instance), cancel_(cancel), stream_(ioc_, ctx) {}

  const std::string& where() const { return where_; }
  // Short reason for the prober ("connection refused"); set when Open fails.
  const std::string& failure_reason() const { return failure_reason_; }
  bool canceled() const { return canceled_; }

  // Resolves, connects, handshakes and checks the agent's identity.
  Status Open(seconds timeout) {
    where_ = "agent at " + instance_.agent_url;
    auto endpoint = ParseAgentUrl(instance_.agent_url);
    if (!endpoint.ok()) return Fail(endpoint.status(), endpoint.status().message());
    host_header_ = instance_.agent_url.substr(std::string_view("https://").size());
    if (!host_header_.empty() && host_header_.back() == '/') host_header_.pop_back();

    tcp::resolver resolver(ioc_);
    tcp::resolver::results_type results;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    beast::error_code ec = Run(
        [&](auto done) {
          resolver.async_resolve(endpoint->host, endpoint->port_text(),
                                 [&, done](beast::error_code e, tcp::resolver::results_type r) {
                                   results = std::move(r);
                                   done(e);
                                 });
        },
        [&] { resolver.cancel(); }, deadline);
    if (canceled_) return Status::Canceled("canceled");
    if (ec) {
      std::string reason = ec == net::error::operation_aborted ? "name resolution timed out"
                                                                : "cannot resolve " + endpoint->host + ": " + ec.message();
      return Fail(Status::Unavailable(where_ + " unreachable: " + reason), reason);
    }

    beast::get_lowest_layer(stream_).expires_after(timeout);
    ec = Run([&](auto done) {
      beast::get_lowest_layer(stream_).async_connect(results, [done](beast::error_code e, auto&&...) { done(e); });
    });
    if (canceled_) return Status::Canceled("canceled");
    if (ec) {
      std::string reason = ec == beast::error::timeout ? "connection timed out" : LowerFirst(ec.message());
      return Fail(Status::Unavailable(where_ + " unreachable: " + reason), reason);
    }

    beast::get_lowest_layer(stream_).expires_after(timeout);
    ec = Run([&](auto done) { stream_.async_handshake(ssl::stream_base::client, done); });
    if (canceled_) return Status::Canceled("canceled");
    if (ec) {
      std::string detail = ec == beast::error::timeout ? "timed out" : ec.message();
      long verify = SSL_get_verify_result(stream_.native_handle());
      if (verify != X509_V_OK) detail += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
      std::string reason = "TLS handshake failed: " + detail;
      return Fail(Status::Unavailable(where_ + ": " + reason), reason);
    }

    const std::string expected = tls::InstanceIdentity(instance_.name);
    auto identity = tls::PeerIdentity(stream_.native_handle());
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

  template <class Body>
  void Prepare(http::request<Body>& req) {
    req.set(http::field::host, host_header_);
    req.set(http::field::user_agent, "clawback-controller");
    req.keep_alive(false);
  }

  // Writes a complete small request.
  template <class Body>
  beast::error_code Write(http::request<Body>& req, seconds timeout) {
    beast::get_lowest_layer(stream_).expires_after(timeout);
    return Run([&](auto done) { http::async_write(stream_, req, [done](beast::error_code e, size_t) { done(e); }); });
  }

  // Reads a whole response with a JSON (or short text) body.
  beast::error_code ReadSmall(http::response<http::string_body>& res, seconds timeout) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kJsonBodyLimit);
    parser.header_limit(kHeaderLimit);
    beast::get_lowest_layer(stream_).expires_after(timeout);
    beast::error_code ec = Run(
        [&](auto done) { http::async_read(stream_, buffer_, parser, [done](beast::error_code e, size_t) { done(e); }); });
    if (!ec) res = parser.release();
    return ec;
  }

  Result<StreamSummary> StreamBackup(const AgentBackupRequest& request, ArchiveReceiver& receiver, seconds stall) {
    http::request<http::string_body> req{http::verb::post, std::string(protocol::kBackupPath), 11};
    Prepare(req);
    req.set(http::field::content_type, protocol::kJsonContentType);
    req.body() = nlohmann::json{{protocol::kFieldPaths, request.paths},
                                {protocol::kFieldExcludes, request.excludes},
                                {protocol::kFieldStrict, request.strict}}
                     .dump();
    req.prepare_payload();
    beast::error_code ec = Write(req, stall);
    if (ec) return WriteFailure(ec, stall, 0);

    http::response_parser<http::empty_body> head;
    head.header_limit(kHeaderLimit);
    head.body_limit(boost::none);
    beast::get_lowest_layer(stream_).expires_after(stall);
    ec = Run([&](auto done) {
      http::async_read_header(stream_, buffer_, head, [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec) return ReadFailure(ec, stall, 0, "before the archive started");

    if (head.get().result() != http::status::ok) return ReadErrorBody(std::move(head), stall);

    http::response_parser<http::buffer_body> body(std::move(head));
    body.body_limit(boost::none);
    std::vector<char> chunk(kStreamBufferSize);
    uint64_t received = 0;
    WatchdogScope watchdog(*this, stall);
    while (!body.is_done()) {
      body.get().body().data = chunk.data();
      body.get().body().size = chunk.size();
      size_t consumed = 0;
      ec = StreamStep([&](auto done) {
        http::async_read_some(stream_, buffer_, body, [&consumed, done](beast::error_code e, size_t used) {
          consumed = used;
          done(e);
        });
      });
      if (ec == http::error::need_buffer) ec = {};
      if (consumed > 0) Progress();
      size_t n = chunk.size() - body.get().body().size;
      if (n > 0) {
        received += n;
        Status st = receiver.OnData(chunk.data(), n);
        if (!st.ok()) return st;
      }
      if (ec) return ReadFailure(ec, stall, received, "");
    }
    watchdog.Stop();

    const auto& fields = body.get().base();
    auto field = [&](std::string_view name) { return std::string(fields[beast::string_view(name.data(), name.size())]); };
    std::string status = field(protocol::kTrailerStatus);
    if (status == "error") {
      // A refusal the agent decided after the first byte (e.g. `strict`).
      std::string why = field(protocol::kTrailerError);
      return Status::FailedPrecondition(where_ + " failed the backup: " +
                                        (why.empty() ? "no reason given" : why));
    }
    if (status != "ok") {
      return Status::Corruption("stream from " + where_ + " ended after " + std::to_string(received) +
                                " bytes without " + std::string(protocol::kTrailerStatus) + ": ok" +
                                (status.empty() ? "" : " (it said: " + status + ")"));
    }
    StreamSummary summary;
    summary.entries = ParseDecimal(field(protocol::kTrailerEntries));
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

  Result<AgentRestoreResult> StreamRestore(ArchiveProvider& provider, bool quiesce, seconds stall,
                                           const std::function<void(uint64_t)>& on_progress) {
    const uint64_t total = provider.TotalSize();
    http::request<http::empty_body> req{
        http::verb::post,
        std::string(protocol::kRestorePath) + "?" + std::string(protocol::kQueryQuiesce) + (quiesce ? "=1" : "=0"), 11};
    Prepare(req);
    req.set(http::field::content_type, protocol::kArchiveContentType);
    req.content_length(total);
    http::request_serializer<http::empty_body> serializer(req);
    beast::get_lowest_layer(stream_).expires_after(stall);
    beast::error_code ec = Run([&](auto done) {
      http::async_write_header(stream_, serializer, [done](beast::error_code e, size_t) { done(e); });
    });
    if (ec) return AfterWriteFailure(ec, stall, 0);

    std::vector<char> chunk(kStreamBufferSize);
    uint64_t sent = 0;
    WatchdogScope watchdog(*this, stall);
    for (;;) {
      if (cancel_ && cancel_->load()) return Status::Canceled("restore canceled");
      auto got = provider.Read(chunk.data(), chunk.size());
      if (!got.ok()) return got.status();
      size_t n = *got;
      if (n == 0) break;
      if (sent + n > total) return Status::IoError("archive grew while being sent");
      size_t off = 0;
      while (off < n) {
        size_t wrote = 0;
        ec = StreamStep([&](auto done) {
          stream_.async_write_some(net::buffer(chunk.data() + off, n - off), [&, done](beast::error_code e, size_t w) {
            wrote = w;
            done(e);
          });
        });
        if (wrote > 0) Progress();
        off += wrote;
        sent += wrote;
        if (ec) {
          watchdog.Stop();  // AfterWriteFailure reads the agent's answer under its own deadline
          return AfterWriteFailure(ec, stall, sent);
        }
      }
      if (on_progress) on_progress(sent);
    }
    watchdog.Stop();
    if (sent != total) {
      return Status::IoError("archive shrank while being sent: " + std::to_string(sent) + " of " +
                             std::to_string(total) + " bytes");
    }

    http::response<http::string_body> res;
    // The agent answers once it has extracted the last bytes; allow it time
    // to finish what is still in flight beyond the stall window.
    ec = ReadSmall(res, stall + seconds(30));
    if (ec) return ReadFailure(ec, stall, sent, "after the whole archive was sent");
    return RestoreResultFrom(res);
  }

  Result<InstanceHealth> ReadInfo() {
    http::request<http::empty_body> req{http::verb::get, std::string(protocol::kInfoPath), 11};
    Prepare(req);
    beast::error_code ec = Write(req, kProbeTimeout);
    http::response<http::string_body> res;
    if (!ec) ec = ReadSmall(res, kProbeTimeout);
    if (ec) {
      std::string reason = ec == beast::error::timeout ? "agent did not answer /v1/info in time"
                                                       : "reading /v1/info failed: " + ec.message();
      failure_reason_ = reason;
      return Status::Unavailable(reason);
    }
    if (res.result() != http::status::ok) {
      failure_reason_ = "agent answered /v1/info with HTTP " + std::to_string(res.result_int()) + ": " +
                        AgentErrorMessage(res.body());
      return Status::Unavailable(failure_reason_);
    }
    InstanceHealth health;
    health.status = "running";
    auto json = nlohmann::json::parse(res.body(), nullptr, false);
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

  // Starts an async step with `start(done)` and runs the io_context until
  // done(ec) is called, polling the cancel flag and an optional deadline.
  template <class Start, class Abort = std::nullptr_t>
  beast::error_code Run(Start&& start, Abort abort = nullptr,
                        std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max()) {
    bool finished = false;
    bool aborted = false;
    beast::error_code result;
    start([&finished, &result](beast::error_code ec) {
      result = ec;
      finished = true;
    });
    ioc_.restart();
    while (!finished) {
      ioc_.run_for(kCancelPoll);
      if (finished || aborted) continue;
      bool cancel_now = cancel_ != nullptr && cancel_->load();
      if (cancel_now || std::chrono::steady_clock::now() >= deadline) {
        aborted = true;
        canceled_ = canceled_ || cancel_now;
        if constexpr (!std::is_same_v<Abort, std::nullptr_t>) abort();
        beast::error_code ignored;
        beast::get_lowest_layer(stream_).socket().close(ignored);
      }
    }
    return result;
  }

  // The streaming watchdog: while active, every kCancelPoll it checks the
  // caller's cancel flag and that Progress() was called within the stall
  // window; otherwise it closes the socket, so the pending step fails
  // (reported as beast::error::timeout when stalled). Stop() (or the scope's
  // end) disarms it; it never outlives the stream.
  class WatchdogScope {
   public:
    WatchdogScope(AgentCall& call, seconds stall) : call_(call) { call_.StartWatchdog(stall); }
    ~WatchdogScope() { Stop(); }
    WatchdogScope(const WatchdogScope&) = delete;
    WatchdogScope& operator=(const WatchdogScope&) = delete;
    void Stop() { call_.StopWatchdog(); }

   private:
    AgentCall& call_;
  };

  void StartWatchdog(seconds stall) {
    beast::get_lowest_layer(stream_).expires_never();  // the watchdog replaces per-step deadlines
    stall_window_ = stall;
    stalled_ = false;
    watching_ = true;
    Progress();
    ArmWatchdog();
  }

  void StopWatchdog() {
    if (!watching_) return;
    watching_ = false;
    watchdog_.cancel();
  }

  void Progress() { last_progress_ = std::chrono::steady_clock::now(); }

  void ArmWatchdog() {
    watchdog_.expires_after(kCancelPoll);
    watchdog_.async_wait([this](beast::error_code ec) {
      if (ec || !watching_) return;
      const bool cancel_now = cancel_ != nullptr && cancel_->load();
      if (cancel_now || std::chrono::steady_clock::now() - last_progress_ >= stall_window_) {
        canceled_ = canceled_ || cancel_now;
        stalled_ = !cancel_now;
        watching_ = false;
        beast::error_code ignored;
        beast::get_lowest_layer(stream_).socket().close(ignored);
        return;
      }
      ArmWatchdog();
    });
  }

  // Starts an async step with `start(done)` and runs handlers until done(ec)
  // is called. Only under an active watchdog, which keeps the io_context
  // busy and enforces the stall window and the cancel flag.
  template <class Start>
  beast::error_code StreamStep(Start&& start) {
    bool finished = false;
    beast::error_code result;
    start([&finished, &result](beast::error_code ec) {
      result = ec;
      finished = true;
    });
    if (ioc_.stopped()) ioc_.restart();
    while (!finished && ioc_.run_one() > 0) {
    }
    if (!finished) result = net::error::operation_aborted;
    if (result && stalled_) result = beast::error::timeout;
    return result;
  }

  Status ReadFailure(const beast::error_code& ec, seconds stall, uint64_t received, const std::string& when) {
    if (canceled_) return Status::Canceled("canceled by request");
    if (ec == beast::error::timeout) {
      return Status::DeadlineExceeded("stalled: no data from agent for " + std::to_string(stall.count()) + " s");
    }
    if (IsTruncation(ec)) {
      if (!when.empty()) {
        return Status::Unavailable(where_ + " closed the connection " + when + " (" + ec.message() + ")");
      }
      return Status::Corruption("stream truncated after " + std::to_string(received) +
                                " bytes: agent connection closed before the end of the archive");
    }
    return Status::Corruption("stream from " + where_ + " broken after " + std::to_string(received) +
                              " bytes: " + ec.message());
  }

  Status WriteFailure(const beast::error_code& ec, seconds stall, uint64_t sent) {
    if (canceled_) return Status::Canceled("canceled by request");
    if (ec == beast::error::timeout) {
      return Status::DeadlineExceeded("stalled: agent accepted no data for " + std::to_string(stall.count()) + " s");
    }
    return Status::Unavailable("sending to " + where_ + " failed after " + std::to_string(sent) +
                               " bytes: " + ec.message());
  }

  // A write broke: the agent may have answered with an error and closed
  // (e.g. 422 corrupt archive). Prefer its answer over our write error.
  Result<AgentRestoreResult> AfterWriteFailure(const beast::error_code& ec, seconds stall, uint64_t sent) {
    if (canceled_ || ec == beast::error::timeout) return WriteFailure(ec, stall, sent);
    http::response<http::string_body> res;
    if (!ReadSmall(res, seconds(5))) return RestoreResultFrom(res);
    return WriteFailure(ec, stall, sent);
  }

  Status ReadErrorBody(http::response_parser<http::empty_body>&& head, seconds stall) {
    unsigned code = head.get().result_int();
    http::response_parser<http::string_body> parser(std::move(head));
    parser.body_limit(kJsonBodyLimit);
    beast::get_lowest_layer(stream_).expires_after(stall);
    beast::error_code ec = Run(
        [&](auto done) { http::async_read(stream_, buffer_, parser, [done](beast::error_code e, size_t) { done(e); }); });
    std::string message = ec ? "no error message" : AgentErrorMessage(parser.get().body());
    return Status(CodeForHttpStatus(code), message);
  }

  Result<AgentRestoreResult> RestoreResultFrom(const http::response<http::string_body>& res) {
    auto json = nlohmann::json::parse(res.body(), nullptr, false);
    auto number = [&](const char* key) -> uint64_t {
      return json.is_object() && json.contains(key) && json[key].is_number_unsigned() ? json[key].get<uint64_t>() : 0;
    };
    if (res.result() != http::status::ok) {
      std::string message = AgentErrorMessage(res.body());
      if (json.is_object() && json.contains("entries_written")) {
        message += " (" + std::to_string(number("entries_written")) + " entries, " +
                   std::to_string(number("bytes_written")) + " bytes written before the failure)";
      }
      return Status(CodeForHttpStatus(res.result_int()), message);
    }
    if (!json.is_object()) return Status::Corruption(where_ + " sent an unreadable restore summary");
    AgentRestoreResult result;
    result.entries_written = number("entries_written");
    result.bytes_written = number("bytes_written");
    if (json.contains("skipped") && json["skipped"].is_array()) result.skipped_json = json["skipped"].dump();
    result.quiesced = json.contains("quiesced") && json["quiesced"].is_boolean() && json["quiesced"].get<bool>();
    if (json.contains("warnings") && json["warnings"].is_array()) {
      for (const auto& w : json["warnings"]) {
        if (w.is_string()) result.warnings.push_back(w.get<std::string>());
      }
    }
    return result;
  }

  const Instance& instance_;
  const std::atomic<bool>* cancel_;
  net::io_context ioc_{1};
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  net::steady_timer watchdog_{ioc_};
  bool watching_ = false;  // watchdog state: used only on the calling thread
  bool stalled_ = false;
  seconds stall_window_{0};
  std::chrono::steady_clock::time_point last_progress_;
  std::string where_;
  std::string host_header_;
  std::string failure_reason_;
  bool canceled_ = false;
};

class MtlsAgentConnector final : public AgentConnector {
 public:
  explicit MtlsAgentConnector(std::shared_ptr<ssl::context> ctx)
      : ctx_(std::move(ctx)), prober_([this](const Instance& i) { return ProbeNow(i); }, /*parallelism=*/16) {}
  ~MtlsAgentConnector() override { prober_.Stop(); }

  InstanceHealth Probe(const Instance& instance) override {
    InstanceHealth health = ProbeNow(instance);
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
    AgentCall call(*ctx_, instance, &cancel);
    CLAWBACK_RETURN_IF_ERROR(call.Open(std::min(stall_timeout, kConnectTimeout)));
    auto result = call.StreamBackup(request, receiver, stall_timeout);
    if (!result.ok() && call.canceled()) return Status::Canceled("backup canceled");
    return result;
  }

  Result<AgentRestoreResult> Restore(const Instance& instance, ArchiveProvider& provider, bool quiesce,
                                     const std::atomic<bool>& cancel, std::chrono::seconds stall_timeout,
                                     std::function<void(uint64_t)> on_progress) override {
    AgentCall call(*ctx_, instance, &cancel);
    CLAWBACK_RETURN_IF_ERROR(call.Open(std::min(stall_timeout, kConnectTimeout)));
    auto result = call.StreamRestore(provider, quiesce, stall_timeout, on_progress);
    if (!result.ok() && call.canceled()) return Status::Canceled("restore canceled");
    return result;
  }

 private:
  InstanceHealth ProbeNow(const Instance& instance) {
    InstanceHealth health;
    health.checked_at = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    AgentCall call(*ctx_, instance, nullptr);
    Status opened = call.Open(kProbeTimeout);
    if (!opened.ok()) {
      health.status = "unreachable";
      health.reason = call.failure_reason().empty() ? opened.message() : call.failure_reason();
      return health;
    }
    auto info = call.ReadInfo();
    if (!info.ok()) {
      health.status = "unreachable";
      health.reason = info.status().message();
      return health;
    }
    info->checked_at = health.checked_at;
    return std::move(info).value();
  }

  std::shared_ptr<ssl::context> ctx_;
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
