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
#include "agent/server/chunk_queue.h"
#include "shared/exclude_rules.h"
#include "shared/log.h"
#include "shared/path_rules.h"
#include "shared/protocol.h"
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
constexpr size_t kChunkSize = 256 * 1024;
constexpr size_t kQueueCapacity = 4 * kChunkSize;
// After a failed restore, the rest of the upload is read and dropped up to this
// much so the client can still read our error response; then we close.
constexpr uint64_t kDrainAfterFailure = 16 * 1024 * 1024;
constexpr std::chrono::seconds kCloseTimeout{5};
constexpr size_t kWarningDetailLimit = 4096;

// The one place the agent turns a Status into an HTTP status.
int HttpStatusFor(const Status& status) {
  using Code = Status::Code;
  switch (status.code()) {
    case Code::kOk: return 200;
    case Code::kInvalidArgument: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kPermissionDenied: return 403;
    case Code::kNotFound: return 404;
    case Code::kConflict:
    case Code::kAlreadyExists:
    case Code::kCanceled: return 409;
    case Code::kFailedPrecondition: return 412;
    case Code::kResourceExhausted: return 507;
    case Code::kUnavailable: return 503;
    case Code::kDeadlineExceeded: return 504;
    case Code::kCorruption: return 422;
    case Code::kIoError:
    case Code::kInternal: return 500;
  }
  return 500;
}

// One backup or restore: the queue between the worker thread and the
// connection, and the worker's cancel flag. Shared by both.
struct Transfer {
  ChunkQueue queue{kQueueCapacity, kChunkSize};
  std::atomic<bool> cancel{false};
};

class QueueSink : public ChunkSink {
 public:
  explicit QueueSink(ChunkQueue& queue) : queue_(queue) {}
  Status Write(const void* data, size_t size) override { return queue_.Push(data, size); }

 private:
  ChunkQueue& queue_;
};

class QueueSource : public ChunkSource {
 public:
  explicit QueueSource(ChunkQueue& queue) : queue_(queue) {}
  Result<size_t> Read(void* buf, size_t capacity) override { return queue_.Pop(buf, capacity); }

 private:
  ChunkQueue& queue_;
};

json SkippedJson(const std::vector<SkippedEntry>& skipped) {
  json out = json::array();
  for (const SkippedEntry& s : skipped) out.push_back({{"path", s.path}, {"reason", s.reason}});
  return out;
}

// The first warnings as an ASCII JSON array of at most kWarningDetailLimit bytes.
std::string WarningDetail(const std::vector<std::string>& warnings) {
  json detail = json::array();
  std::string out = "[]";
  for (const std::string& w : warnings) {
    detail.push_back(w);
    std::string next = detail.dump(-1, ' ', true, json::error_handler_t::replace);
    if (next.size() > kWarningDetailLimit) break;
    out = std::move(next);
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
    header_parser_.emplace();
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

    if (target_ == protocol::kRestorePath) return HandleRestoreHeader();

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
    std::vector<std::string> requested;
    if (request.contains("paths")) {
      const json& paths = request["paths"];
      if (!paths.is_array()) return SendError(400, "\"paths\" must be an array of strings");
      for (const json& p : paths) {
        if (!p.is_string()) return SendError(400, "\"paths\" must be an array of strings");
        requested.push_back(p.get<std::string>());
      }
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
    Status exist = CheckBackupPathsExist(backup, *resolved);
    if (!exist.ok()) return SendError(HttpStatusFor(exist), exist.message());
    if (!state_->TryStartTransfer()) {
      return SendError(429, "too many transfers running (max " + std::to_string(opts().max_transfers) + ")");
    }

    transfer_ = std::make_shared<Transfer>();
    transfer_->queue.SetWake(WakeOnStrand(&Connection::PumpBackup));
    backup.cancel = &transfer_->cancel;
    status_ = 200;

    backup_res_.emplace(http::status::ok, version_);
    backup_res_->set(http::field::content_type, protocol::kArchiveContentType);
    backup_res_->set(http::field::cache_control, "no-store");
    backup_res_->set(http::field::trailer,
                     std::string(protocol::kTrailerStatus) + ", " + std::string(protocol::kTrailerEntries) + ", " +
                         std::string(protocol::kTrailerBytesRead) + ", " + std::string(protocol::kTrailerBytesSent) +
                         ", " + std::string(protocol::kTrailerSha256) + ", " +
                         std::string(protocol::kTrailerWarnings) + ", " +
                         std::string(protocol::kTrailerWarningDetail));
    backup_res_->chunked(true);
    backup_res_->keep_alive(keep_alive_);
    backup_sr_.emplace(*backup_res_);
    lowest().expires_after(opts().stall_timeout);
    http::async_write_header(stream_, *backup_sr_,
                             beast::bind_front_handler(&Connection::OnWriteBackupHeader, shared_from_this()));

    // The worker starts now; its bytes wait in the bounded queue until the
    // header is out.
    state_->WorkerStarted();
    std::thread([transfer = transfer_, backup, paths = *resolved, self = shared_from_this()]() mutable {
      QueueSink sink(transfer->queue);
      Result<BackupSummary> result = WriteBackup(backup, paths, sink);
      transfer->queue.Finish(result.ok() ? Status::Ok() : result.status());
      auto state = self->state_;
      auto executor = self->executor_;
      net::post(executor, [self = std::move(self), result = std::move(result)]() mutable {
        self->OnBackupDone(std::move(result));
      });
      transfer.reset();
      state->EndTransfer();
      state->WorkerEnded();
    }).detach();
  }

  void OnWriteBackupHeader(beast::error_code ec, size_t n) {
    bytes_out_ += n;
    if (ec) return AbortBackup("writing response header: " + ec.message());
    backup_streaming_ = true;
    PumpBackup();
  }

  // Moves the next chunk from the queue to the socket; ends the stream when
  // the worker is done and the queue is drained.
  void PumpBackup() {
    if (!backup_streaming_ || writing_) return;
    if (backup_result_ && !backup_result_->ok()) return FinishBackup();
    std::vector<char> chunk;
    switch (transfer_->queue.TryPop(&chunk)) {
      case ChunkQueue::PopState::kChunk:
        if (chunk.empty()) return PumpBackup();  // "0\r\n" would end the body
        writing_ = true;
        FrameChunk(chunk);
        lowest().expires_after(opts().stall_timeout);
        net::async_write(stream_, net::buffer(current_chunk_),
                         beast::bind_front_handler(&Connection::OnWriteBackupChunk, shared_from_this()));
        return;
      case ChunkQueue::PopState::kWait:
        return;  // the worker's next Push wakes us
      case ChunkQueue::PopState::kEnd:
        if (backup_result_) FinishBackup();
        return;  // else OnBackupDone follows
    }
  }

  // current_chunk_ = one HTTP/1.1 chunk ("<hex size>\r\n" data "\r\n") in a
  // single buffer: written as a buffer sequence, the few framing bytes would
  // each go out as a TLS record of their own.
  void FrameChunk(const std::vector<char>& data) {
    char size_line[24];
    const int n = std::snprintf(size_line, sizeof size_line, "%zx\r\n", data.size());
    current_chunk_.clear();
    current_chunk_.reserve(data.size() + static_cast<size_t>(n) + 2);
    current_chunk_.insert(current_chunk_.end(), size_line, size_line + n);
    current_chunk_.insert(current_chunk_.end(), data.begin(), data.end());
    current_chunk_.push_back('\r');
    current_chunk_.push_back('\n');
  }

  void OnWriteBackupChunk(beast::error_code ec, size_t n) {
    writing_ = false;
    bytes_out_ += n;
    if (ec) {
      return AbortBackup(ec == beast::error::timeout ? "controller stopped reading (stall timeout)"
                                                     : "writing stream: " + ec.message());
    }
    PumpBackup();
  }

  void OnBackupDone(Result<BackupSummary> result) {
    backup_result_.emplace(std::move(result));
    PumpBackup();
  }

  void FinishBackup() {
    backup_streaming_ = false;
    if (!backup_result_->ok()) {
      // Never end a broken stream with the final chunk: the receiver must see
      // a truncated body.
      error_ = "backup failed mid-stream: " + backup_result_->status().ToString();
      LogRequest();
      return CloseHard();
    }
    const BackupSummary& summary = backup_result_->value();
    summary_fields_ = {{"entries", summary.entries},
                       {"bytes_read", summary.bytes_read},
                       {"bytes_sent", summary.bytes_sent},
                       {"warnings", summary.warnings.size()}};
    trailers_.set(protocol::kTrailerStatus, "ok");
    trailers_.set(protocol::kTrailerEntries, std::to_string(summary.entries));
    trailers_.set(protocol::kTrailerBytesRead, std::to_string(summary.bytes_read));
    trailers_.set(protocol::kTrailerBytesSent, std::to_string(summary.bytes_sent));
    trailers_.set(protocol::kTrailerSha256, summary.sha256);
    trailers_.set(protocol::kTrailerWarnings, std::to_string(summary.warnings.size()));
    trailers_.set(protocol::kTrailerWarningDetail, WarningDetail(summary.warnings));
    lowest().expires_after(opts().stall_timeout);
    net::async_write(stream_, http::make_chunk_last(trailers_),
                     [self = shared_from_this()](beast::error_code ec, size_t n) {
                       self->bytes_out_ += n;
                       if (ec) self->error_ = "writing final chunk: " + ec.message();
                       self->LogRequest();
                       if (ec) return self->CloseHard();
                       if (self->keep_alive_) return self->DoReadHeader();
                       self->CloseGraceful();
                     });
  }

  void AbortBackup(std::string reason) {
    backup_streaming_ = false;
    error_ = std::move(reason);
    AbortTransfer(error_);
    LogRequest();
    CloseHard();
  }

  // ---- POST /v1/restore ----

  void HandleRestoreHeader() {
    keep_alive_ = false;  // until the body has been read whole
    if (!Authorize()) return;
    if (header_parser_->get().method() != http::verb::post) return SendError(405, "use POST " + target_);
    if (!state_->TryStartTransfer()) {
      return SendError(429, "too many transfers running (max " + std::to_string(opts().max_transfers) + ")");
    }
    want_keep_alive_ = header_parser_->get().keep_alive() && !state_->stopping;
    bool expect_continue = beast::iequals(header_parser_->get()[http::field::expect], "100-continue");
    upload_parser_.emplace(std::move(*header_parser_));
    upload_parser_->body_limit(boost::none);

    transfer_ = std::make_shared<Transfer>();
    transfer_->queue.SetWake(WakeOnStrand(&Connection::ResumeUpload));
    RestoreOptions restore;
    restore.root = opts().root;
    restore.allow_devices = opts().allow_devices;
    restore.cancel = &transfer_->cancel;
    restore_running_ = true;

    state_->WorkerStarted();
    std::thread([transfer = transfer_, restore, self = shared_from_this()]() mutable {
      QueueSource source(transfer->queue);
      RestoreSummary partial;
      Result<RestoreSummary> result = ExtractRestore(restore, source, &partial);
      // Extraction is over: the reader drops the rest of the body from now on.
      transfer->queue.Close(Status::Canceled("extraction finished"));
      auto state = self->state_;
      auto executor = self->executor_;
      net::post(executor, [self = std::move(self), result = std::move(result), partial = std::move(partial)]() mutable {
        self->OnRestoreDone(std::move(result), std::move(partial));
      });
      transfer.reset();
      state->EndTransfer();
      state->WorkerEnded();
    }).detach();

    if (expect_continue) {
      auto res = std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
      lowest().expires_after(opts().stall_timeout);
      http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
        if (ec) return self->OnUploadRead(ec, 0);
        self->DoReadUpload();
      });
      return;
    }
    DoReadUpload();
  }

  void DoReadUpload() {
    if (upload_parser_->is_done()) return OnUploadComplete();
    upload_chunk_.resize(kChunkSize);
    auto& body = upload_parser_->get().body();
    body.data = upload_chunk_.data();
    body.size = upload_chunk_.size();
    body.more = true;
    reading_ = true;
    lowest().expires_after(opts().stall_timeout);
    http::async_read(stream_, buffer_, *upload_parser_,
                     beast::bind_front_handler(&Connection::OnUploadRead, shared_from_this()));
  }

  void OnUploadRead(beast::error_code ec, size_t) {
    reading_ = false;
    if (ec == http::error::need_buffer) ec = {};
    size_t got = upload_parser_ ? upload_chunk_.size() - upload_parser_->get().body().size : 0;
    if (ec) got = upload_chunk_.empty() ? 0 : got;
    upload_chunk_.resize(got);
    bytes_in_ += got;
    if (restore_result_) {
      dropped_ += got;
    } else if (got > 0) {
      paused_ = !transfer_->queue.TryPush(std::move(upload_chunk_));
    }
    upload_chunk_ = {};
    if (ec) {
      // Cut connection or stall: the extractor must fail, never succeed.
      upload_broken_ = true;
      std::string why = ec == beast::error::timeout ? "no data for " + std::to_string(opts().stall_timeout.count()) + " s"
                                                    : ec.message();
      transfer_->queue.Finish(
          Status::Corruption("stream cut after " + std::to_string(bytes_in_) + " bytes: " + why));
      CloseHard();
      return MaybeFinishRestore();
    }
    if (upload_parser_->is_done()) return OnUploadComplete();
    if (restore_result_ && !restore_result_->ok() && dropped_ > kDrainAfterFailure) return MaybeFinishRestore(true);
    if (paused_) return;  // ResumeUpload follows when the worker made room
    DoReadUpload();
  }

  void ResumeUpload() {
    if (!paused_ || reading_ || upload_done_ || upload_broken_) return;
    paused_ = false;
    DoReadUpload();
  }

  void OnUploadComplete() {
    upload_done_ = true;
    transfer_->queue.Finish(Status::Ok());
    MaybeFinishRestore();
  }

  void OnRestoreDone(Result<RestoreSummary> result, RestoreSummary partial) {
    restore_running_ = false;
    partial_ = std::move(partial);
    restore_result_.emplace(std::move(result));
    if (paused_) ResumeUpload();  // keep draining the body
    MaybeFinishRestore();
  }

  // Answers once both the worker and the upload are over (or the upload is
  // being dropped after a failure and went on too long).
  void MaybeFinishRestore(bool give_up_draining = false) {
    if (!restore_result_ || responded_) return;
    const Result<RestoreSummary>& r = *restore_result_;
    if (upload_broken_) {
      responded_ = true;
      status_ = 0;
      error_ = r.ok() ? "upload cut after extraction finished" : r.status().ToString();
      summary_fields_ = {{"entries_written", (r.ok() ? r.value() : partial_).entries_written}};
      return LogRequest();
    }
    if (!upload_done_ && !(give_up_draining && !reading_)) return;
    responded_ = true;
    keep_alive_ = upload_done_ && want_keep_alive_;
    const RestoreSummary& s = r.ok() ? r.value() : partial_;
    summary_fields_ = {{"entries_written", s.entries_written}, {"bytes_written", s.bytes_written},
                       {"skipped", s.skipped.size()}};
    json body = {{"entries_written", s.entries_written},
                 {"bytes_written", s.bytes_written},
                 {"skipped", SkippedJson(s.skipped)},
                 {"warnings", s.warnings}};
    if (r.ok()) {
      body["status"] = "ok";
      return SendJson(200, body);
    }
    error_ = r.status().ToString();
    body["error"] = r.status().message();
    body["code"] = Status::CodeName(r.status().code());
    SendJson(HttpStatusFor(r.status()), body);
  }

  // ---- Helpers ----

  // A wake function for ChunkQueue: posts `step` onto this connection's strand
  // without keeping the connection alive (the queue is owned through it).
  std::function<void()> WakeOnStrand(void (Connection::*step)()) {
    return [weak = weak_from_this(), executor = executor_, step] {
      net::post(executor, [weak, step] {
        if (auto self = weak.lock()) ((*self).*step)();
      });
    };
  }

  void AbortTransfer(const std::string& reason) {
    if (!transfer_) return;
    transfer_->cancel = true;
    transfer_->queue.Close(Status::Canceled(reason));
    transfer_->queue.Finish(Status::Canceled(reason));
  }

  void CloseHard() {
    if (closed_) return;
    closed_ = true;
    // A broken upload already ended the queue with its cause ("stream cut
    // after N bytes"), which the extractor must report rather than a cancel.
    if (!upload_broken_) AbortTransfer("connection closed");
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
    bytes_in_ = bytes_out_ = dropped_ = 0;
    summary_fields_ = json::object();
    json_parser_.reset();
    upload_parser_.reset();
    backup_sr_.reset();
    backup_res_.reset();
    backup_result_.reset();
    restore_result_.reset();
    transfer_.reset();
    trailers_.clear();
    upload_done_ = upload_broken_ = responded_ = paused_ = false;
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
  uint64_t bytes_in_ = 0, bytes_out_ = 0, dropped_ = 0;
  json summary_fields_ = json::object();
  std::optional<http::request_parser<http::empty_body>> header_parser_;
  std::optional<http::request_parser<http::string_body>> json_parser_;
  std::shared_ptr<Transfer> transfer_;

  // Backup stream.
  std::optional<http::response<http::empty_body>> backup_res_;
  std::optional<http::response_serializer<http::empty_body>> backup_sr_;
  std::vector<char> current_chunk_;
  http::fields trailers_;
  std::optional<Result<BackupSummary>> backup_result_;
  bool backup_streaming_ = false;
  bool writing_ = false;

  // Restore upload.
  std::optional<http::request_parser<http::buffer_body>> upload_parser_;
  std::vector<char> upload_chunk_;
  std::optional<Result<RestoreSummary>> restore_result_;
  RestoreSummary partial_;
  bool want_keep_alive_ = false;
  bool restore_running_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool upload_done_ = false;
  bool upload_broken_ = false;
  bool responded_ = false;
};

}  // namespace

std::shared_ptr<ConnectionHandle> StartConnection(tcp::socket socket, std::shared_ptr<ServerState> state,
                                                  std::shared_ptr<const TlsState> tls) {
  auto connection = std::make_shared<Connection>(std::move(socket), std::move(state), std::move(tls));
  connection->Start();
  return connection;
}

}  // namespace clawback::agent
