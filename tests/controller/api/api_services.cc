#include "tests/controller/api/api_services.h"

#include <filesystem>
#include <system_error>

#include <gtest/gtest.h>

namespace clawback::controller::testing {

std::unique_ptr<ApiServices> ApiServices::Open(const TempDir& dir, const Clock& clock, AgentConnector& agents,
                                               ApiServicesOptions options) {
  std::unique_ptr<ApiServices> s(new ApiServices());
  s->store_ = OpenTestStore(dir);
  if (!s->store_) return nullptr;  // OpenTestStore failed the test
  auto pki = pki::InitPki(dir.file("pki"));
  if (!pki.ok()) {
    ADD_FAILURE() << pki.status().ToString();
    return nullptr;
  }
  s->pki_ = *pki;
  s->backups_dir_ = dir.file("backups");
  std::error_code ec;
  std::filesystem::create_directories(s->backups_dir_, ec);
  if (ec) {
    ADD_FAILURE() << "cannot create " << s->backups_dir_ << ": " << ec.message();
    return nullptr;
  }
  s->limiter_ = std::make_unique<auth::SignInRateLimiter>(clock, options.rate_limit);
  s->audit_ = std::make_unique<auth::AuditLog>(*s->store_, clock);
  s->users_ = std::make_unique<auth::UserAdmin>(*s->store_, clock, options.sessions.scrypt);
  s->transfers_ = MakeTransferService(*s->store_, agents, {s->backups_dir_}, {});
  s->scheduler_ = MakeScheduler(*s->store_, *s->transfers_, clock, {});
  s->sessions_ = std::make_unique<auth::SessionManager>(*s->store_, clock, *s->limiter_, s->audit_.get(),
                                                        options.sessions);
  s->context_ = std::make_unique<api::ApiContext>(
      api::ApiContext{*s->store_, clock, *s->sessions_, *s->users_, *s->audit_, *s->transfers_,
                      *s->scheduler_, agents, s->metrics_, s->pki_.ca_cert, s->pki_.ca_key, s->backups_dir_,
                      api::ProxyTrust(), /*secure_cookies=*/false, /*metrics_token=*/"", /*metrics_open=*/false});
  s->handler_ = api::MakeApiHandler(*s->context_);
  return s;
}

ApiServices::~ApiServices() {
  if (scheduler_) scheduler_->Stop();
  if (transfers_) transfers_->Shutdown();
}

}  // namespace clawback::controller::testing
