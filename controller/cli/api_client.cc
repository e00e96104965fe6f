#include "controller/cli/api_client.h"

#include <cctype>
#include <cstdio>

#include "shared/http_status.h"

namespace clawback::controller::cli {
namespace {

constexpr const char* kApiPrefix = "/api/v1";

bool IsDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Status StatusForHttpError(int http_status, const std::string& body) {
  std::string message;
  std::string code_name;
  auto json = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("code") && json["code"].is_string())
    code_name = json["code"].get<std::string>();
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    message = json["error"].get<std::string>();
    if (json.contains("field") && json["field"].is_string()) {
      std::string field = json["field"].get<std::string>();
      if (!field.empty() && message.rfind(field, 0) != 0) message = field + ": " + message;
    }
  } else {
    message = "server answered HTTP " + std::to_string(http_status);
  }
  if (http_status == 401) message += " (run `clawback login`)";
  return Status(CodeForHttpStatus(http_status, code_name), message);
}

std::string QueryEscape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string QueryString(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    out += out.empty() ? "?" : "&";
    out += name + "=" + QueryEscape(value);
  }
  return out;
}

ApiClient::ApiClient(HttpClient& http, std::string token) : http_(http), token_(std::move(token)) {}

std::vector<std::pair<std::string, std::string>> ApiClient::Headers(
    const std::vector<std::pair<std::string, std::string>>& extra) const {
  std::vector<std::pair<std::string, std::string>> headers = extra;
  if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
  headers.emplace_back("Accept", "application/json");
  return headers;
}

Result<HttpResponse> ApiClient::CallRaw(const std::string& method, const std::string& path, const Json* body,
                                        const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest request;
  request.method = method;
  request.target = std::string(kApiPrefix) + path;
  if (body) request.body = body->dump();
  request.headers = Headers(headers);
  auto response = http_.Send(request);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status >= 300) {
    return StatusForHttpError(response->status, response->body);
  }
  return response;
}

Result<Json> ApiClient::Call(const std::string& method, const std::string& path, const Json* body,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  auto response = CallRaw(method, path, body, headers);
  if (!response.ok()) return response.status();
  if (response->body.empty()) return Json();
  auto json = Json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    return Status::Internal("server sent a response that is not JSON (" + method + " " + path + ")");
  }
  return json;
}

Result<HttpResponse> ApiClient::Download(const std::string& path,
                                         const std::vector<std::pair<std::string, std::string>>& headers,
                                         const BodySink& sink) {
  HttpRequest request;
  request.target = std::string(kApiPrefix) + path;
  request.headers = Headers(headers);
  auto response = http_.Stream(request, sink);
  if (!response.ok()) return response.status();
  if (response->status < 200 || response->status >= 300) {
    return StatusForHttpError(response->status, response->body);
  }
  return response;
}

Result<Json> ApiClient::FindInstance(const std::string& name_or_id) {
  auto list = Get("/instances");
  if (!list.ok()) return list.status();
  const Json& instances = (*list)["instances"];
  if (!instances.is_array()) return Status::Internal("GET /instances: response has no instances list");
  for (const auto& instance : instances) {
    if (instance.value("name", "") == name_or_id) return instance;
  }
  if (IsDigits(name_or_id)) {
    for (const auto& instance : instances) {
      if (instance.contains("id") && instance["id"].is_number() &&
          std::to_string(instance["id"].get<int64_t>()) == name_or_id) {
        return instance;
      }
    }
  }
  return Status::NotFound("no instance named " + name_or_id);
}

Result<int64_t> ApiClient::InstanceId(const std::string& name_or_id) {
  auto instance = FindInstance(name_or_id);
  if (!instance.ok()) return instance.status();
  return (*instance)["id"].get<int64_t>();
}

}  // namespace clawback::controller::cli
