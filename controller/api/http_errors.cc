#include "controller/api/http_errors.h"

#include <nlohmann/json.hpp>

#include "shared/http_status.h"

namespace clawback::controller::api {

HttpResponse ErrorResponse(const Status& status, std::string_view field, int http_status) {
  Status st = status.ok() ? Status::Internal("error response built from OK status") : status;
  HttpResponse r;
  r.status = http_status ? http_status : HttpStatusForCode(st.code());
  nlohmann::json body = {{"error", st.message()}, {"code", std::string(Status::CodeName(st.code()))}};
  if (!field.empty()) body["field"] = std::string(field);
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.content_type = "application/json";
  return r;
}

std::string FieldFromMessage(std::string_view message, std::initializer_list<std::string_view> fields) {
  size_t colon = message.find(": ");
  if (colon == std::string_view::npos) return {};
  std::string_view head = message.substr(0, colon);
  for (std::string_view f : fields) {
    if (head == f) return std::string(f);
  }
  return {};
}

}  // namespace clawback::controller::api
