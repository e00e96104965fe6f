#include "agent/server/http_responses.h"

#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "shared/http_status.h"
#include "shared/protocol.h"

namespace clawback::agent {
namespace {

namespace http = boost::beast::http;
constexpr size_t kWarningDetailLimit = 4096;

}  // namespace

int HttpStatusFor(const Status& status) { return HttpStatusForCode(status.code()); }

std::string WarningDetail(const std::vector<std::string>& warnings) {
  nlohmann::json detail = nlohmann::json::array();
  std::string out = "[]";
  for (const std::string& w : warnings) {
    detail.push_back(w);
    std::string next = detail.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
    if (next.size() > kWarningDetailLimit) break;
    out = std::move(next);
  }
  return out;
}

size_t WriteJsonResponse(TransferStream& io, int status, const nlohmann::json& body, unsigned version) {
  http::response<http::string_body> res(static_cast<http::status>(status), version);
  res.set(http::field::content_type, protocol::kJsonContentType);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(false);
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.prepare_payload();
  boost::system::error_code ec;
  const size_t n = http::write(io.stream(), res, ec);
  io.Moved(n);
  return ec ? 0 : n;
}

}  // namespace clawback::agent
