#include "tests/support/s3_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/support/child_process.h"

namespace clawback::testing {

// True when something accepts connections on 127.0.0.1:`port` (no request is
// sent: with signatures checked, moto counts every request).
static bool PortOpen(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool open = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return open;
}

uint16_t FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

int RawHttp(uint16_t port, const std::string& method, const std::string& target,
            const std::map<std::string, std::string>& headers, const std::string& request_body, std::string* body) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return 0;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\n";
  if (headers.count("Host") == 0) req += "Host: 127.0.0.1:" + std::to_string(port) + "\r\n";
  req += "Connection: close\r\nContent-Length: " + std::to_string(request_body.size()) + "\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n" + request_body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return 0;
    }
    off += static_cast<size_t>(n);
  }
  std::string resp;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    resp.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  if (resp.rfind("HTTP/1.", 0) != 0 || resp.size() < 12) return 0;
  size_t head_end = resp.find("\r\n\r\n");
  if (body != nullptr) *body = head_end == std::string::npos ? "" : resp.substr(head_end + 4);
  return std::atoi(resp.substr(9, 3).c_str());
}

Result<std::unique_ptr<S3Server>> S3Server::Start(const std::string& log_path) {
  return StartWith(log_path, {});
}

Result<std::unique_ptr<S3Server>> S3Server::StartVerifyingSignatures(const std::string& log_path,
                                                                     int unsigned_requests) {
  return StartWith(log_path, {{"INITIAL_NO_AUTH_ACTION_COUNT", std::to_string(unsigned_requests)}});
}

Result<std::pair<std::string, std::string>> S3Server::CreateSigningUser() {
  // IAM requests are routed by Host; moto reads (not checks) an Authorization
  // header while requests are still unauthenticated.
  const std::map<std::string, std::string> iam = {
      {"Host", "iam.amazonaws.com"},
      {"Content-Type", "application/x-www-form-urlencoded"},
      {"Authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, "
       "SignedHeaders=host, Signature=00"}};
  std::string body;
  if (RawHttp(port_, "POST", "/", iam, "Action=CreateUser&UserName=clawback&Version=2010-05-08", &body) != 200) {
    return Status::Unavailable("CreateUser: " + body);
  }
  const std::string policy =
      "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22"
      "%3A%22s3%3A*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
  if (RawHttp(port_, "POST", "/", iam,
              "Action=PutUserPolicy&UserName=clawback&PolicyName=s3&PolicyDocument=" + policy + "&Version=2010-05-08",
              &body) != 200) {
    return Status::Unavailable("PutUserPolicy: " + body);
  }
  if (RawHttp(port_, "POST", "/", iam, "Action=CreateAccessKey&UserName=clawback&Version=2010-05-08", &body) != 200) {
    return Status::Unavailable("CreateAccessKey: " + body);
  }
  auto field = [&](const std::string& tag) {
    size_t b = body.find("<" + tag + ">"), e = body.find("</" + tag + ">");
    return b == std::string::npos || e == std::string::npos ? std::string()
                                                            : body.substr(b + tag.size() + 2, e - b - tag.size() - 2);
  };
  return std::make_pair(field("AccessKeyId"), field("SecretAccessKey"));
}

Result<std::unique_ptr<S3Server>> S3Server::StartWith(const std::string& log_path,
                                                      const std::map<std::string, std::string>& env) {
  std::unique_ptr<S3Server> s(new S3Server());
  s->log_ = log_path;
  for (int attempt = 0; attempt < 3 && s->pid_ < 0; ++attempt) {
    s->port_ = FreeLoopbackPort();
    SpawnOptions options;
    options.die_with_parent = true;
    options.env = env;
    pid_t pid = SpawnLogged({"moto_server", "-H", "127.0.0.1", "-p", std::to_string(s->port_)}, log_path, options);
    if (pid < 0) return Status::Unavailable("cannot start moto_server (is it on PATH?)");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool up = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (PortOpen(s->port_)) {
        up = true;
        break;
      }
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) break;  // died (port taken?)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (up) {
      s->pid_ = pid;
    } else {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  if (s->pid_ < 0) return Status::Unavailable("moto_server did not answer; log: " + Tail(ReadWholeFile(log_path), 2000));
  return s;
}

S3Server::~S3Server() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    WaitOrKill(pid_, std::chrono::seconds(5), std::chrono::milliseconds(20));
  }
}

std::string S3Server::Endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

Status S3Server::CreateBucket(const std::string& bucket, bool object_lock) {
  std::map<std::string, std::string> headers;
  if (object_lock) headers["x-amz-bucket-object-lock-enabled"] = "true";
  std::string body;
  int code = RawHttp(port_, "PUT", "/" + bucket, headers, "", &body);
  if (code != 200) return Status::Unavailable("create bucket " + bucket + ": HTTP " + std::to_string(code) + " " + body);
  return Status::Ok();
}

std::map<std::string, std::string> S3Server::Environment() const {
  return {{"AWS_ENDPOINT_URL_S3", Endpoint()},
          {"AWS_ACCESS_KEY_ID", "testing-key"},
          {"AWS_SECRET_ACCESS_KEY", "testing-secret"},
          {"AWS_REGION", "us-east-1"}};
}

}  // namespace clawback::testing
