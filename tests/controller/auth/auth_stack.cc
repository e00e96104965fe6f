#include "tests/controller/auth/auth_stack.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "controller/api/http_message.h"
#include "controller/pki/certificate_authority.h"

namespace clawback::controller::testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::string Reply::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (Lower(k) == Lower(name)) return v;
  }
  return "";
}

std::string Reply::Describe() const { return std::to_string(status) + " " + body; }

std::string SessionCookieFrom(const std::string& set_cookie) {
  const std::string prefix = std::string(auth::kSessionCookieName) + "=";
  if (set_cookie.rfind(prefix, 0) != 0) return "";
  size_t end = set_cookie.find(';');
  return set_cookie.substr(prefix.size(), end == std::string::npos ? std::string::npos : end - prefix.size());
}

AuthStack::AuthStack(StackOptions options) : options_(std::move(options)) {
  // The connector needs the controller's client certificate before the
  // services exist; ApiServices::Open finds the PKI already in place.
  auto pki = pki::InitPki(dir_.file("pki"));
  if (!pki.ok()) throw std::runtime_error(pki.status().ToString());
  auto agents = MakeAgentConnector({pki->ca_cert, pki->controller_cert, pki->controller_key});
  if (!agents.ok()) throw std::runtime_error(agents.status().ToString());
  agents_ = std::move(agents).value();
  services_ = ApiServices::Open(dir_, clock_, *agents_, options_);
  if (!services_) throw std::runtime_error("cannot set up the controller's services in " + dir_.path().string());

  auto first = auth::EnsureFirstAdmin(store(), clock_, std::string(kAdminPassword), options_.sessions.scrypt);
  if (!first.ok()) throw std::runtime_error(first.status().ToString());
  admin_ = TokenFor("admin", kAdminPassword, "admin-token", /*can_create_tokens=*/true);
}

AuthStack::~AuthStack() = default;

Reply AuthStack::Call(const Credentials& who, const std::string& method, const std::string& target,
                      const Json& body) {
  api::HttpRequest req;
  req.method = method;
  size_t q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) req.query = api::ParseQueryString(target.substr(q + 1));
  if (!who.token.empty()) req.headers["authorization"] = "Bearer " + who.token;
  if (!who.cookie.empty()) req.headers["cookie"] = std::string(auth::kSessionCookieName) + "=" + who.cookie;
  if (!who.csrf.empty()) req.headers["x-csrf-token"] = who.csrf;
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers["content-type"] = "application/json";
  }
  req.remote = who.remote;
  api::HttpResponse res = services_->Handle(req);
  Reply r;
  r.status = res.status;
  r.body = res.body;
  r.headers = res.headers;
  if (!res.content_type.empty()) r.headers.emplace_back("Content-Type", res.content_type);
  r.json = Json::parse(r.body, nullptr, false);
  return r;
}

Reply AuthStack::Anonymous(const std::string& method, const std::string& target, const Json& body,
                           const std::string& remote) {
  Credentials none;
  none.remote = remote;
  return Call(none, method, target, body);
}

Signin AuthStack::Login(const std::string& username, const std::string& password, const std::string& remote) {
  Signin s;
  s.reply = Anonymous("POST", "/api/v1/auth/login", {{"username", username}, {"password", password}}, remote);
  s.session.remote = remote;
  if (s.reply.status == 200) {
    s.session.cookie = SessionCookieFrom(s.reply.Header("Set-Cookie"));
    s.session.csrf = s.reply.json.value("csrf_token", "");
  }
  return s;
}

Credentials AuthStack::TokenFor(const std::string& username, const std::string& password, const std::string& name,
                                bool can_create_tokens) {
  Signin s = Login(username, password);
  EXPECT_EQ(s.reply.status, 200) << s.reply.Describe();
  Reply minted =
      Call(s.session, "POST", "/api/v1/auth/tokens", {{"name", name}, {"can_create_tokens", can_create_tokens}});
  EXPECT_EQ(minted.status, 201) << minted.Describe();
  Call(s.session, "POST", "/api/v1/auth/logout");
  return Credentials::Bearer(minted.json.value("secret", ""));
}

Json AuthStack::CreateUser(const std::string& username, const std::string& password, const std::string& role,
                           bool can_create_instances, const std::vector<int64_t>& instance_ids) {
  Json body = {{"username", username},
               {"password", password},
               {"role", role},
               {"can_create_instances", can_create_instances},
               {"instance_ids", instance_ids}};
  Reply r = Call(admin_, "POST", "/api/v1/users", body);
  EXPECT_EQ(r.status, 201) << r.Describe();
  return r.json;
}

Json AuthStack::RegisterInstance(const std::string& name) {
  Reply r = Call(admin_, "POST", "/api/v1/instances", {{"name", name}, {"agent_url", "https://127.0.0.1:1"}});
  EXPECT_EQ(r.status, 201) << r.Describe();
  return r.json;
}

std::string AuthStack::DatabaseBytes() const {
  return ReadAll(db_path()) + ReadAll(db_path() + "-wal") + ReadAll(db_path() + "-journal");
}

}  // namespace clawback::controller::testing
