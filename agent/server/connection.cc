#include "agent/server/connection.h"

#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include "agent/archive/archive_stream.h"
#include "agent/server/backup_stream.h"
#include "agent/server/http_responses.h"
#include "agent/server/restore_upload.h"
#include "agent/server/drill_upload.h"
#include "shared/drill_protocol.h"
#include "agent/server/transfer_stream.h"
#include "agent/hooks/quiesce_hooks.h"
#include "shared/exclude_rules.h"
#include "shared/log.h"
#include "shared/path_rules.h"
#include "shared/protocol.h"
#include "shared/transfer_coding.h"
#include "shared/tls.h"
#include "shared/version.h"

namespace clawback::agent {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHeaderLimit = 8 * 1024;
constexpr uint64_t kJsonBodyLimit = 64 * 1024;
constexpr std::chrono::seconds kCloseTimeout{5};

// Backup request fields (shared/protocol.h). Anything else is refused: a
// request may switch the agent's own hooks off, never name a command.
bool IsBackupRequestField(const std::string& key) {
  return key == protocol::kFieldPaths || key == protocol::kFieldExcludes || key == protocol::kFieldStrict ||
         key == protocol::kFieldQuiesce;
}

struct RestoreQuery {
  bool quiesce = true;
  bool dry_run = false;
};

// The restore query: ?quiesce=0|1 and ?dry_run=0|1 (also true/false).
// InvalidArgument for any other parameter or value.
Result<RestoreQuery> ParseRestoreQuery(std::string_view target) {
  RestoreQuery out;
  size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq),
                     value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    bool* field = key == protocol::kQueryQuiesce ? &out.quiesce : key == protocol::kQueryDryRun ? &out.dry_run : nullptr;
    if (field == nullptr) {
      return Status::InvalidArgument("unknown query parameter \"" + std::string(key.substr(0, 64)) +
                                     "\" (only quiesce=0|1 and dry_run=0|1 are accepted)");
    }
    if (value == "1" || value == "true") {
      *field = true;
    } else if (value == "0" || value == "false") {
      *field = false;
    } else {
      return Status::InvalidArgument(std::string(key) + " must be 0 or 1");
    }
  }
  return out;
}

bool IsQuietClose(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof || ec == ssl::error::stream_truncated ||
         ec == net::error::connection_reset || ec == net::error::operation_aborted;
}

class Connection : public ConnectionHandle, public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<ServerState> state, std::shared_ptr<const TlsState> tls)
      : executor_(socket.get_executor()),
        state_(std::move(state)),
        tls_(std::move(tls)),
        stream_(beast::tcp_stream(std::move(socket)), *tls_->context) {
    ++state_->connections;
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Connection() override { --state_->connections; }

  void Start() { net::dispatch(executor_, [self = shared_from_this()] { self->DoHandshake(); }); }

  bool Unauthenticated() const override { return !controller_.load(std::memory_order_relaxed); }

  void Stop(bool abort) override {
    net::post(executor_, [self = shared_from_this(), abort] {
      if (abort) {
        self->AbortTransfer("agent shutting down");
        self->CloseHard();
      } else {
        self->keep_alive_ = false;
        if (self->idle_) self->CloseHard();
      }
    });
  }

 private:
  const AgentServerOptions& opts() const { return state_->options; }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  // ---- Handshake and request header ----

  void DoHandshake() {
    lowest().expires_after(opts().handshake_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            beast::bind_front_handler(&Connection::OnHandshake, shared_from_this()));
  }

  void OnHandshake(beast::error_code ec) {
    if (ec) {
      log::Warn("tls handshake failed", {{"remote", remote_}, {"error", ec.message()}});
      return CloseHard();
    }
    // Identity is fixed for the connection: record it once for the logs.
    auto id = tls::PeerIdentity(stream_.native_handle());
    peer_ = id.ok() ? *id : std::string("anonymous");
    if (peer_ == protocol::kControllerIdentity) controller_.store(true, std::memory_order_relaxed);
    DoReadHeader();
  }

  void DoReadHeader() {
    if (state_->stopping || closed_) return CloseGraceful();
    ResetRequest();
    header_parser_ = std::make_shared<http::request_parser<http::empty_body>>();
    header_parser_->header_limit(kHeaderLimit);
    header_parser_->body_limit(boost::none);  // checked per endpoint below
    idle_ = true;
    lowest().expires_after(opts().header_timeout);
    http::async_read_header(stream_, buffer_, *header_parser_,
                            beast::bind_front_handler(&Connection::OnReadHeader, shared_from_this()));
  }

  void OnReadHeader(beast::error_code ec, size_t) {
    idle_ = false;
    started_ = Clock::now();
    if (ec) {
      if (IsQuietClose(ec) || ec == beast::error::timeout) return CloseHard();
      keep_alive_ = false;
      if (ec == http::error::header_limit) return SendError(431, "request header larger than 8 KiB");
      return SendError(400, "malformed HTTP request: " + ec.message());
    }
    auto& req = header_parser_->get();
    method_ = std::string(req.method_string());
    std::string_view target(req.target().data(), req.target().size());
    target_ = std::string(target.substr(0, target.find('?')));
    version_ = req.version();
    keep_alive_ = req.keep_alive() && !state_->stopping;
    std::vector<std::string_view> codings;
    auto te = req.equal_range(http::field::transfer_encoding);
    for (auto it = te.first; it != te.second; ++it) codings.emplace_back(it->value().data(), it->value().size());
    if (!IsAcceptedTransferEncoding(codings)) {
      keep_alive_ = false;
      return SendError(400, "unsupported Transfer-Encoding (only \"chunked\" is accepted)");
    }

    if (target_ == protocol::kRestorePath) return HandleRestoreHeader();
    if (target_ == protocol::kDrillPath) return HandleDrillHeader();

    // The parser's declared length (the message's own payload_size() is that
    // of its still-empty body). Chunked bodies are capped by body_limit below.
    if (auto declared = header_parser_->content_length(); declared && *declared > kJsonBodyLimit) {
      keep_alive_ = false;
      return SendError(413, "request body larger than 64 KiB");
    }
    json_parser_.emplace(std::move(*header_parser_));
    json_parser_->body_limit(kJsonBodyLimit);
    lowest().expires_after(opts().header_timeout);
    http::async_read(stream_, buffer_, *json_parser_,
                     beast::bind_front_handler(&Connection::OnReadBody, shared_from_this()));
  }

  void OnReadBody(beast::error_code ec, size_t) {
    if (ec) {
      keep_alive_ = false;
      if (ec == http::error::body_limit) return SendError(413, "request body larger than 64 KiB");
      error_ = "reading request body: " + ec.message();
      LogRequest();
      return CloseHard();
    }
    bytes_in_ = json_parser_->get().body().size();
    Route();
  }

  // ---- Routing and authorization ----

  void Route() {
    const auto method = json_parser_->get().method();
    if (target_ == protocol::kHealthPath) {
      if (method != http::verb::get) return SendError(405, "use GET " + target_);
      return SendJson(200, {{"status", "ok"}, {"version", kVersion}, {"uptime_s", UptimeSeconds()}});
    }
    if (target_ != protocol::kInfoPath && target_ != protocol::kBackupPath) {
      return SendError(404, "no such endpoint: " + target_);
    }
    if (!Authorize()) return;
    if (target_ == protocol::kInfoPath) {
      if (method != http::verb::get) return SendError(405, "use GET " + target_);
      return SendJson(200, {{"instance", tls_->instance}, {"version", kVersion}, {"uptime_s", UptimeSeconds()}});
    }
    if (method != http::verb::post) return SendError(405, "use POST " + target_);
    HandleBackup(json_parser_->get().body());
  }

  // Requires the verified controller identity; otherwise answers 401/403 and
  // returns false.
  bool Authorize() {
    auto id = tls::PeerIdentity(stream_.native_handle());
    if (!id.ok()) {
      SendError(401, id.status().message());
      return false;
    }
    if (*id != protocol::kControllerIdentity) {
      SendError(403, "identity " + *id + " may not call " + target_ + "; only " +
                         std::string(protocol::kControllerIdentity) + " may");
      return false;
    }
    return true;
  }

  // ---- Plain JSON responses ----

  void SendError(int status, std::string message) {
    error_ = message;
    SendJson(status, {{"error", std::move(message)}});
  }

  void SendJson(int status, const json& body) {
    status_ = status;
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), version_);
    res->set(http::field::content_type, protocol::kJsonContentType);
    res->set(http::field::cache_control, "no-store");
    res->keep_alive(keep_alive_);
    res->body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
    res->prepare_payload();
    bytes_out_ = res->body().size();
    lowest().expires_after(opts().stall_timeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
      self->OnWriteResponse(ec, res->keep_alive());
    });
  }

  void OnWriteResponse(beast::error_code ec, bool keep_alive) {
    if (ec && error_.empty()) error_ = "writing response: " + ec.message();
    LogRequest();
    if (ec) return CloseHard();
    if (keep_alive) return DoReadHeader();
    CloseGraceful();
  }

  // ---- POST /v1/backup ----

  void HandleBackup(const std::string& body) {
    json request = json::parse(body, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      return SendError(400, "request body must be a JSON object like {\"paths\": [\"HOME\"]}");
    }
    for (auto it = request.begin(); it != request.end(); ++it) {
      if (!IsBackupRequestField(it.key())) {
        return SendError(400, "unknown field \"" + it.key().substr(0, 64) +
                                  "\" in the backup request (hooks are configured in the agent, never sent)");
      }
    }
    bool want_quiesce = true;
    if (request.contains(protocol::kFieldQuiesce)) {
      if (!request[protocol::kFieldQuiesce].is_boolean())
        return SendError(400, "\"quiesce\" must be true or false");
      want_quiesce = request[protocol::kFieldQuiesce].get<bool>();
    }
    std::vector<std::string> requested;
    if (request.contains("paths")) {
      const json& paths = request["paths"];
      if (!paths.is_array()) return SendError(400, "\"paths\" must be an array of strings");
      for (const json& p : paths) {
        if (!p.is_string()) return SendError(400, "\"paths\" must be an array of strings");
        requested.push_back(p.get<std::string>());
      }
    }
    bool strict = false;
    if (request.contains(protocol::kFieldStrict)) {
      const json& value = request[std::string(protocol::kFieldStrict)];
      if (!value.is_boolean()) return SendError(400, "\"strict\" must be true or false");
      strict = value.get<bool>();
    }
    paths_ = requested;
    auto resolved = ResolveBackupPaths(requested);
    if (!resolved.ok()) return SendError(HttpStatusFor(resolved.status()), resolved.status().message());
    paths_ = *resolved;

    BackupOptions backup;
    if (request.contains(protocol::kFieldExcludes)) {
      const json& excludes = request[protocol::kFieldExcludes];
      std::vector<std::string> patterns;
      if (!excludes.is_array()) return SendError(400, "\"excludes\" must be an array of strings");
      for (const json& e : excludes) {
        if (!e.is_string()) return SendError(400, "\"excludes\" must be an array of strings");
        patterns.push_back(e.get<std::string>());
      }
      auto rules = ExcludeRules::Compile(patterns);
      if (!rules.ok()) return SendError(HttpStatusFor(rules.status()), rules.status().message());
      backup.excludes = std::move(rules).value();
    }
    backup.root = opts().root;
    backup.compression_level = opts().compression_level;
    backup.threads = opts().threads;
    backup.database_busy_timeout = opts().database_busy_timeout;
    backup.strict = strict;
    Status exist = CheckBackupPathsExist(backup, *resolved);
    if (!exist.ok()) return SendError(HttpStatusFor(exist), exist.message());
    if (!state_->TryStartTransfer()) {
      return SendError(429, "too many transfers running (max " + std::to_string(opts().max_transfers) + ")");
    }

    std::shared_ptr<QuiesceScope> quiesce;
    if (want_quiesce && state_->hooks.Has(QuiesceOperation::kBackup)) {
      auto claimed = state_->hooks.Claim(QuiesceOperation::kBackup);
      if (!claimed.ok()) {
        state_->EndTransfer();
        return SendError(HttpStatusFor(claimed.status()), claimed.status().message());
      }
      quiesce = std::move(*claimed);
    }

    status_ = 200;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    backup.cancel = cancel.get();
    HandOff([backup, paths = *resolved, cancel, quiesce, version = version_](Connection& self, TransferStream& io) {
      BackupStreamResult r = ServeBackup(io, backup, paths, quiesce.get(), version);
      self.bytes_out_ = r.bytes_out;
      if (r.refused_before_stream) self.status_ = HttpStatusFor(r.backup.status());
      if (r.backup.ok()) {
        const BackupSummary& summary = r.backup.value();
        self.summary_fields_ = {{"entries", summary.entries},
                                {"bytes_read", summary.bytes_read},
                                {"bytes_sent", summary.bytes_sent},
                                {"warnings", summary.warnings.size()},
                                {"databases", summary.databases_captured},
                                {"databases_raw", summary.databases_raw},
                                {"quiesced", r.quiesced}};
      }
      if (!r.backup.ok()) {
        self.error_ = "backup failed: " + r.backup.status().ToString();
      } else if (!r.wire.ok()) {
        self.error_ = r.wire.message();
      }
    }, cancel);
  }

  // ---- POST /v1/restore ----

  void HandleRestoreHeader() {
    keep_alive_ = false;  // a transfer's connection closes when it is done
    if (!Authorize()) return;
    if (header_parser_->get().method() != http::verb::post) return SendError(405, "use POST " + target_);
    const auto& raw_target = header_parser_->get().target();
    Result<RestoreQuery> query = ParseRestoreQuery(std::string_view(raw_target.data(), raw_target.size()));
    if (!query.ok()) return SendError(400, query.status().message());
    if (!state_->TryStartTransfer()) {
      return SendError(429, "too many transfers running (max " + std::to_string(opts().max_transfers) + ")");
    }
    std::shared_ptr<QuiesceScope> quiesce;
    // A dry run writes nothing, so it runs no hooks either.
    if (query->quiesce && !query->dry_run && state_->hooks.Has(QuiesceOperation::kRestore)) {
      auto claimed = state_->hooks.Claim(QuiesceOperation::kRestore);
      if (!claimed.ok()) {
        state_->EndTransfer();
        return SendError(HttpStatusFor(claimed.status()), claimed.status().message());
      }
      quiesce = std::move(*claimed);
    }
    const bool expect_continue = beast::iequals(header_parser_->get()[http::field::expect], "100-continue");
    RestoreOptions restore;
    restore.root = opts().root;
    restore.allow_devices = opts().allow_devices;
    restore.resolution = opts().resolution;
    restore.dry_run = query->dry_run;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    restore.cancel = cancel.get();
    auto header = std::move(header_parser_);
    auto buffer = std::make_shared<beast::flat_buffer>(std::move(buffer_));
    HandOff([restore, header, buffer, expect_continue, quiesce, version = version_](Connection& self,
                                                                                    TransferStream& io) {
      RestoreUploadResult r = ServeRestore(io, std::move(*header), std::move(*buffer), restore, quiesce.get(),
                                           expect_continue, version);
      self.status_ = r.http_status;
      self.bytes_in_ = r.bytes_in;
      self.bytes_out_ = r.bytes_out;
      const RestoreSummary& s = r.restore.ok() ? r.restore.value() : r.partial;
      self.summary_fields_ = {{"entries_written", s.entries_written}, {"bytes_written", s.bytes_written},
                              {"skipped", s.skipped.size()}, {"quiesced", r.quiesced},
                              {"dry_run", restore.dry_run}, {"create", s.changes.create.count},
                              {"replace", s.changes.replace.count}};
      if (!r.restore.ok()) self.error_ = r.restore.status().ToString();
    }, cancel);
  }

  // ---- POST /v1/drill (drill_upload.h) ----

  void HandleDrillHeader() {
    keep_alive_ = false;
    if (!Authorize()) return;
    if (header_parser_->get().method() != http::verb::post) return SendError(405, "use POST " + target_);
    if (opts().drill_dir.empty()) {
      return SendError(409, "restore drills are not enabled on this agent (start it with --drill-dir)");
    }
    if (!state_->TryStartTransfer()) {
      return SendError(429, "too many transfers running (max " + std::to_string(opts().max_transfers) + ")");
    }
    const bool expect_continue = beast::iequals(header_parser_->get()[http::field::expect], "100-continue");
    DrillOptions drill;
    drill.drill_dir = opts().drill_dir;
    drill.resolution = opts().resolution;
    auto cancel = std::make_shared<std::atomic<bool>>(false);
    drill.cancel = cancel.get();
    auto header = std::move(header_parser_);
    auto buffer = std::make_shared<beast::flat_buffer>(std::move(buffer_));
    HandOff([drill, header, buffer, expect_continue, version = version_](Connection& self, TransferStream& io) {
      DrillUploadResult r = ServeDrill(io, std::move(*header), std::move(*buffer), drill, expect_continue, version);
      self.status_ = r.http_status;
      self.bytes_in_ = r.bytes_in;
      self.bytes_out_ = r.bytes_out;
      self.summary_fields_ = {{"entries", r.entries}, {"bytes_written", r.bytes}, {"mismatches", r.mismatches}};
      if (!r.status.ok()) self.error_ = r.status.ToString();
    }, cancel);
  }

  // ---- Hand-off to the transfer's own thread ----

  // Gives the TLS stream to a TransferStream and runs `serve` on a new
  // thread with blocking I/O; the connection then only logs the outcome and
  // relays Stop(). Called on the strand with no operation pending and a
  // transfer slot claimed (released when `serve` returns).
  template <class Serve>
  void HandOff(Serve serve, std::shared_ptr<std::atomic<bool>> cancel) {
    lowest().expires_never();
    auto io = std::make_shared<TransferStream>(std::move(stream_), opts().stall_timeout);
    io_ = io;
    closed_ = true;  // the connection's own stream is gone; the transfer closes it
    cancel_ = std::move(cancel);
    state_->WorkerStarted();
    std::thread([self = shared_from_this(), io = std::move(io), serve = std::move(serve)]() mutable {
      serve(*self, *io);
      io.reset();  // closes the connection before the slot is given back
      auto state = self->state_;
      net::post(self->executor_, [self] { self->OnTransferDone(); });
      self.reset();
      state->EndTransfer();
      state->WorkerEnded();
    }).detach();
  }

  void OnTransferDone() { LogRequest(); }

  // ---- Helpers ----

  void AbortTransfer(const std::string& reason) {
    if (cancel_) cancel_->store(true);
    if (auto io = io_.lock()) io->Interrupt(reason);
  }

  void CloseHard() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  void CloseGraceful() {
    if (closed_) return;
    lowest().expires_after(kCloseTimeout);
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) { self->CloseHard(); });
  }

  int64_t UptimeSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - state_->started_at).count();
  }

  void ResetRequest() {
    method_.clear();
    target_.clear();
    paths_.clear();
    error_.clear();
    status_ = 0;
    bytes_in_ = bytes_out_ = 0;
    summary_fields_ = json::object();
    json_parser_.reset();
  }

  // The one structured line per request.
  void LogRequest() {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count();
    json f = {{"method", method_},     {"endpoint", target_},  {"peer", peer_},
              {"remote", remote_},     {"status", status_},    {"bytes_in", bytes_in_},
              {"bytes_out", bytes_out_}, {"duration_ms", ms}, {"result", error_.empty() ? "ok" : "error"}};
    if (!paths_.empty()) f["paths"] = paths_;
    for (auto it = summary_fields_.begin(); it != summary_fields_.end(); ++it) f[it.key()] = it.value();
    if (!error_.empty()) f["error"] = error_;
    log::Level level = error_.empty() ? log::Level::kInfo : (status_ >= 500 || status_ < 400) ? log::Level::kError
                                                                                                : log::Level::kWarn;
    log::Write(level, "request", f);
  }

  net::any_io_executor executor_;  // the connection's strand; every member below is used only on it
  std::shared_ptr<ServerState> state_;
  std::shared_ptr<const TlsState> tls_;
  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  std::string remote_;
  std::string peer_ = "anonymous";
  std::atomic<bool> controller_{false};  // handshake done with the controller's identity
  bool idle_ = false;
  bool closed_ = false;
  bool keep_alive_ = false;

  // Current request.
  Clock::time_point started_ = Clock::now();
  std::string method_, target_, error_;
  std::vector<std::string> paths_;
  unsigned version_ = 11;
  int status_ = 0;
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
  json summary_fields_ = json::object();
  std::shared_ptr<http::request_parser<http::empty_body>> header_parser_;  // shared: a restore hands it over
  std::optional<http::request_parser<http::string_body>> json_parser_;

  // The transfer this connection handed its stream to, if any (owned by the
  // transfer's thread; kept here only to interrupt it on Stop). Set on the
  // strand; the transfer thread writes the log fields above before posting
  // OnTransferDone, which reads them (the post orders the two).
  std::weak_ptr<TransferStream> io_;
  std::shared_ptr<std::atomic<bool>> cancel_;
};

}  // namespace

std::shared_ptr<ConnectionHandle> StartConnection(tcp::socket socket, std::shared_ptr<ServerState> state,
                                                  std::shared_ptr<const TlsState> tls) {
  auto connection = std::make_shared<Connection>(std::move(socket), std::move(state), std::move(tls));
  connection->Start();
  return connection;
}

}  // namespace clawback::agent
