#include "controller/api/session.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "controller/api/http_errors.h"
#include "shared/log.h"
#include "shared/transfer_coding.h"

namespace clawback::controller::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr size_t kFileChunk = 256 * 1024;

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  template <class... Args>
  Session(const SessionShared& shared, std::string remote, Args&&... args)
      : shared_(shared), remote_(std::move(remote)), stream_(std::forward<Args>(args)...) {}

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->DoHandshake(); });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  auto& Lowest() { return beast::get_lowest_layer(stream_); }

  void DoHandshake() {
    if constexpr (kTls) {
      Lowest().expires_after(shared_.options.read_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->DoReadHeader();
                              });
    } else {
      DoReadHeader();
    }
  }

  void DoReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(shared_.options.header_limit));
    parser_->body_limit(shared_.options.body_limit);
    Lowest().expires_after(shared_.options.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, size_t) {
                              self->OnReadHeader(ec);
                            });
  }

  void OnReadHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    auto& req = parser_->get();
    std::vector<std::string_view> codings;
    auto te = req.equal_range(http::field::transfer_encoding);
    for (auto it = te.first; it != te.second; ++it) codings.emplace_back(it->value().data(), it->value().size());
    if (!IsAcceptedTransferEncoding(codings)) {
      return SendWireError(Status::InvalidArgument("unsupported Transfer-Encoding (only \"chunked\" is accepted)"), 400);
    }
    // A client waiting for "100 Continue" would otherwise stall until timeout.
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      if (req.has_content_length() && *parser_->content_length() > shared_.options.body_limit) {
        return SendWireError(Status::ResourceExhausted(BodyTooLarge()), 413);
      }
      auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, req.version());
      Lowest().expires_after(shared_.options.write_timeout);
      http::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->DoReadBody();
      });
      return;
    }
    DoReadBody();
  }

  void DoReadBody() {
    Lowest().expires_after(shared_.options.read_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->OnReadError(ec);
      self->OnRequest();
    });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      return SendWireError(Status::ResourceExhausted(BodyTooLarge()), 413);
    }
    if (ec == http::error::header_limit) {
      return SendWireError(Status::ResourceExhausted(HeadersTooLarge()), 431);
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return SendWireError(Status::InvalidArgument("malformed HTTP request: " + ec.message()), 400);
    }
    Close();
  }

  // The limits are ServerOptions (server.h); the messages name the ones in force.
  std::string BodyTooLarge() const {
    return "request body too large (limit " + std::to_string(shared_.options.body_limit) + " bytes)";
  }
  std::string HeadersTooLarge() const {
    return "request headers too large (limit " + std::to_string(shared_.options.header_limit) + " bytes)";
  }

  void SendWireError(const Status& st, int code) {
    keep_alive_ = false;
    head_only_ = false;
    DoWrite(ErrorResponse(st, {}, code));
  }

  void OnRequest() {
    auto msg = parser_->release();
    keep_alive_ = msg.keep_alive();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    head_only_ = msg.method() == http::verb::head;
    std::string_view target(msg.target().data(), msg.target().size());
    if (target.empty() || target[0] != '/') {
      return SendWireError(Status::InvalidArgument("request target must be an absolute path"), 400);
    }
    size_t q = target.find('?');
    auto path = PercentDecode(target.substr(0, q), false);
    if (!path) return SendWireError(Status::InvalidArgument("malformed percent-encoding in path"), 400);
    req.path = std::move(*path);
    if (q != std::string_view::npos) {
      // A parameter that does not decode (bad %-escape, %00) is refused, not
      // dropped: dropping a filter would silently widen what is returned.
      std::string_view qs = target.substr(q + 1);
      while (!qs.empty()) {
        size_t amp = qs.find('&');
        if (!PercentDecode(qs.substr(0, amp), true)) {
          return SendWireError(Status::InvalidArgument("malformed percent-encoding in query string"), 400);
        }
        qs = amp == std::string_view::npos ? std::string_view() : qs.substr(amp + 1);
      }
      req.query = ParseQueryString(target.substr(q + 1));
    }
    for (const auto& f : msg) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string value(f.value());
      auto [it, inserted] = req.headers.emplace(name, value);
      if (!inserted) it->second += (name == "cookie" ? "; " : ", ") + value;
    }
    req.body = std::move(msg.body());
    req.remote = remote_;
    req.tls = kTls;
    version_ = msg.version();

    // Handlers may touch the database or hash a password: run them off the
    // I/O threads, then come back to this connection's strand to write.
    net::post(*shared_.workers, [self = this->shared_from_this(), req = std::move(req)]() mutable {
      HttpResponse resp;
      try {
        resp = self->shared_.handler(req);
      } catch (const std::exception& e) {
        log::Error("request handler threw", {{"path", req.path}, {"error", e.what()}});
        resp = ErrorResponse(Status::Internal("internal error"));
      }
      net::post(self->stream_.get_executor(), [self, resp = std::move(resp)]() mutable {
        self->DoWrite(std::move(resp));
      });
    });
  }

  template <class Response>
  void FillHeaders(Response& res, HttpResponse& r) {
    res.version(version_ ? version_ : 11);
    res.result(static_cast<unsigned>(r.status));
    res.set(http::field::server, "clawback");
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) res.insert(name, value);
    res.keep_alive(keep_alive_);
  }

  void DoWrite(HttpResponse r) {
    if (r.file && !head_only_) return DoWriteFile(std::move(r));
    if (r.stream && !head_only_) return DoWriteStream(std::move(r));
    auto res = std::make_shared<http::response<http::string_body>>();
    FillHeaders(*res, r);
    if (r.file) {
      res->content_length(r.file->length);
    } else if (r.stream) {
      if (r.stream_length) res->content_length(*r.stream_length);
    } else if (head_only_) {
      res->content_length(r.body.size());
    } else {
      res->body() = std::move(r.body);
      res->prepare_payload();
    }
    Lowest().expires_after(shared_.options.write_timeout);
    if (head_only_) {
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(stream_, *sr, [self = this->shared_from_this(), res, sr](beast::error_code ec, size_t) {
        self->OnWriteDone(ec);
      });
      return;
    }
    http::async_write(stream_, *res, [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
      self->OnWriteDone(ec);
    });
  }

  void DoWriteFile(HttpResponse r) {
    file_ = std::move(*r.file);
    file_pos_ = file_.offset;
    file_left_ = file_.length;
    file_res_.emplace();
    FillHeaders(*file_res_, r);
    file_res_->content_length(file_.length);
    file_res_->body().data = nullptr;
    file_res_->body().more = true;
    file_sr_.emplace(*file_res_);
    Lowest().expires_after(shared_.options.write_timeout);
    http::async_write_header(stream_, *file_sr_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->DoWriteFileChunk();
    });
  }

  void DoWriteFileChunk() {
    auto& body = file_res_->body();
    if (file_left_ == 0) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      if (!chunk_) chunk_ = std::make_unique<std::array<char, kFileChunk>>();
      size_t want = static_cast<size_t>(std::min<uint64_t>(file_left_, kFileChunk));
      ssize_t n = ::pread(file_.fd->get(), chunk_->data(), want, static_cast<off_t>(file_pos_));
      if (n <= 0) {
        // The file shrank or failed under us: cut the connection so the
        // client sees a short body, never a complete-looking one.
        log::Error("download read failed", {{"remote", remote_}, {"offset", file_pos_}});
        return Close();
      }
      file_pos_ += static_cast<uint64_t>(n);
      file_left_ -= static_cast<uint64_t>(n);
      body.data = chunk_->data();
      body.size = static_cast<size_t>(n);
      body.more = true;
    }
    Lowest().expires_after(shared_.options.write_timeout);
    http::async_write(stream_, *file_sr_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->Close();
      if (!self->file_sr_->is_done()) return self->DoWriteFileChunk();
      self->file_sr_.reset();
      self->file_res_.reset();
      self->file_ = {};
      self->OnWriteDone({});
    });
  }

  void DoWriteStream(HttpResponse r) {
    body_source_ = std::move(r.stream);
    stream_left_ = r.stream_length;
    file_res_.emplace();
    FillHeaders(*file_res_, r);
    if (r.stream_length) {
      file_res_->content_length(*r.stream_length);
    } else {
      file_res_->chunked(true);
    }
    file_res_->body().data = nullptr;
    file_res_->body().more = true;
    file_sr_.emplace(*file_res_);
    Lowest().expires_after(shared_.options.write_timeout);
    http::async_write_header(stream_, *file_sr_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->DoNextStreamPiece();
    });
  }

  // The next piece is produced on a worker (it may read and decompress),
  // then written from this connection's strand.
  void DoNextStreamPiece() {
    net::post(*shared_.workers, [self = this->shared_from_this()] {
      Result<std::span<const char>> piece = Status::Internal("no piece");
      try {
        piece = self->body_source_->Next();
      } catch (const std::exception& e) {
        piece = Status::Internal(e.what());
      }
      net::post(self->stream_.get_executor(), [self, piece = std::move(piece)]() mutable {
        self->OnStreamPiece(std::move(piece));
      });
    });
  }

  void OnStreamPiece(Result<std::span<const char>> piece) {
    auto& body = file_res_->body();
    if (!piece.ok() || (stream_left_ && piece->size() > *stream_left_) ||
        (stream_left_ && piece->empty() && *stream_left_ != 0)) {
      // Cut the connection: the client sees a broken body, never a whole one.
      log::Warn("response stream failed; closing the connection",
                {{"remote", remote_}, {"error", piece.ok() ? "length mismatch" : piece.status().message()}});
      return Close();
    }
    if (stream_left_) *stream_left_ -= piece->size();
    body.data = piece->empty() ? nullptr : const_cast<char*>(piece->data());
    body.size = piece->size();
    body.more = !piece->empty();
    Lowest().expires_after(shared_.options.write_timeout);
    http::async_write(stream_, *file_sr_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return self->Close();
      if (!self->file_sr_->is_done()) return self->DoNextStreamPiece();
      self->file_sr_.reset();
      self->file_res_.reset();
      self->body_source_.reset();
      self->OnWriteDone({});
    });
  }

  void OnWriteDone(beast::error_code ec) {
    if (ec || !keep_alive_) return Close();
    DoReadHeader();
  }

  void Close() {
    beast::error_code ignored;
    if constexpr (kTls) {
      // A TLS close_notify is polite but must not hang: bounded by a timeout.
      if (!closing_) {
        closing_ = true;
        Lowest().expires_after(std::chrono::seconds(5));
        stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
          beast::error_code ignored2;
          self->Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored2);
          self->Lowest().close();
        });
      }
    } else {
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      Lowest().close();
    }
  }

  const SessionShared& shared_;
  std::string remote_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool closing_ = false;

  // The download in progress (guarded by the strand like everything above).
  FileSlice file_;
  uint64_t file_pos_ = 0;
  uint64_t file_left_ = 0;
  std::unique_ptr<std::array<char, kFileChunk>> chunk_;
  // A produced body in progress (BodySource); Next() runs on a worker while
  // nothing else touches it.
  std::shared_ptr<BodySource> body_source_;
  std::optional<uint64_t> stream_left_;
  std::optional<http::response<http::buffer_body>> file_res_;
  std::optional<http::response_serializer<http::buffer_body>> file_sr_;
};

}  // namespace

void StartSession(tcp::socket socket, const SessionShared& shared) {
  beast::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  std::string remote = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
  if (shared.ssl) {
    std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(shared, std::move(remote), std::move(socket),
                                                                    *shared.ssl)
        ->Run();
  } else {
    std::make_shared<Session<beast::tcp_stream>>(shared, std::move(remote), std::move(socket))->Run();
  }
}

}  // namespace clawback::controller::api
