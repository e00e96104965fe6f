// The OpenAPI document the controller serves at /api/v1/openapi.json, checked
// against the routes the router really dispatches, both ways:
//   * every route of the route tables (router.h: AuthRoutes() ... SystemRoutes(),
//     plus the document's own route that MakeApiHandler adds) is in the
//     document with the same method and path template, exactly once, with its
//     path parameters declared and public routes marked `security: []`;
//   * every operation in the document is dispatched by the real handler: an
//     anonymous request to it reaches the route (401 for signed-in routes,
//     never 404 "no such endpoint" or 405 for any route), and any method the
//     document does not list for a path gets 405 with an Allow header naming
//     exactly the documented methods, so the router has no undocumented
//     method on a documented path.
// Real handler over a real SQLite store, as router_test.cc; no agent needed.
#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/api/json_codec.h"
#include "controller/api/trust_json.h"
#include "controller/api/router.h"
#include "tests/controller/api/api_services.h"

namespace clawback::controller::api {
namespace {

using nlohmann::json;
const std::vector<std::string> kMethods = {"GET", "POST", "PUT", "PATCH", "DELETE"};

// "/api/v1/backups/{id}/download" -> "/api/v1/backups/1/download"
std::string Concrete(const std::string& pattern) {
  return std::regex_replace(pattern, std::regex(R"(\{[a-z_]+\})"), "1");
}

std::vector<std::string> ParamNames(const std::string& pattern) {
  std::vector<std::string> names;
  static const std::regex kParam(R"(\{([a-z_]+)\})");
  for (std::sregex_iterator it(pattern.begin(), pattern.end(), kParam), end; it != end; ++it) {
    names.push_back((*it)[1].str());
  }
  return names;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class OpenApiRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Every request here is anonymous: none reaches the agent connector.
    api_ = testing::ApiServices::Open(dir_, clock_, agents_);
    ASSERT_NE(api_, nullptr);

    HttpResponse served = Request("GET", "/api/v1/openapi.json");
    ASSERT_EQ(served.status, 200) << served.body;
    ASSERT_EQ(served.content_type.rfind("application/json", 0), 0u) << served.content_type;
    document_ = json::parse(served.body, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(document_.is_object()) << "not JSON: " << served.body.substr(0, 200);
    ASSERT_EQ(document_.value("openapi", ""), "3.0.3");
    ASSERT_TRUE(document_.contains("paths") && document_["paths"].is_object());
  }
  HttpResponse Request(const std::string& method, const std::string& path) {
    HttpRequest req;
    req.method = method;
    req.path = path;
    req.remote = "127.0.0.1:5000";
    return api_->Handle(req);
  }

  // The routes MakeApiHandler gives the router: every table of router.h in
  // its order, then the OpenAPI document's own route.
  static std::vector<Route> RegisteredRoutes() {
    std::vector<Route> routes;
    for (auto table : {AuthRoutes, InstanceRoutes, BackupRoutes, BrowseRoutes, RestoreRoutes, ScheduleRoutes, UserRoutes,
                       AuditRoutes, SystemRoutes, TrustRoutes}) {
      for (Route& r : table()) routes.push_back(std::move(r));
    }
    Route openapi;
    openapi.method = "GET";
    openapi.pattern = "/api/v1/openapi.json";
    openapi.access = Access::kPublic;
    routes.push_back(std::move(openapi));
    return routes;
  }

  // (method, template) pairs of the served document.
  std::set<std::pair<std::string, std::string>> Documented() const {
    std::set<std::pair<std::string, std::string>> ops;
    for (const auto& [path, item] : document_["paths"].items()) {
      for (const auto& [method, op] : item.items()) ops.insert({method, path});
    }
    return ops;
  }

  testing::TempDir dir_;
  FakeClock clock_{1'800'000'000};
  testing::UnreachableAgents agents_;
  std::unique_ptr<testing::ApiServices> api_;
  json document_;
};

TEST_F(OpenApiRoutesTest, EveryRegisteredRouteIsDocumentedOnce) {
  const std::vector<Route> routes = RegisteredRoutes();
  ASSERT_GT(routes.size(), 30u) << "the route tables look empty";
  std::set<std::pair<std::string, std::string>> seen;
  for (const Route& r : routes) {
    SCOPED_TRACE(r.method + " " + r.pattern);
    EXPECT_TRUE(seen.insert({Lower(r.method), r.pattern}).second)
        << "registered twice: the document can describe only one, the router serves only the first";
    ASSERT_TRUE(document_["paths"].contains(r.pattern)) << "path template missing from the OpenAPI document";
    const json& item = document_["paths"][r.pattern];
    ASSERT_TRUE(item.contains(Lower(r.method))) << "method missing from the OpenAPI document";
    const json& op = item[Lower(r.method)];

    std::vector<std::string> declared;
    for (const json& p : op.value("parameters", json::array())) {
      if (p.value("in", "") == "path") {
        EXPECT_TRUE(p.value("required", false)) << p.dump();
        declared.push_back(p.value("name", ""));
      }
    }
    EXPECT_EQ(declared, ParamNames(r.pattern)) << "path parameters do not match the template";

    const bool documented_public = op.contains("security") && op["security"] == json::array();
    EXPECT_EQ(documented_public, r.access == Access::kPublic) << "security does not match the route's access";
    EXPECT_EQ(op.contains("requestBody"), r.json_body) << "requestBody does not match whether the route reads JSON";
    EXPECT_FALSE(op.value("operationId", "").empty());
  }
  EXPECT_EQ(Documented(), seen) << "the document lists operations the router does not register";
}

TEST_F(OpenApiRoutesTest, OperationIdsAreUnique) {
  std::set<std::string> ids;
  for (const auto& [path, item] : document_["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      EXPECT_TRUE(ids.insert(op.value("operationId", "")).second) << method << " " << path;
    }
  }
}

TEST_F(OpenApiRoutesTest, EveryDocumentedOperationIsDispatchedByTheRouter) {
  for (const auto& [method, path] : Documented()) {
    const std::string verb = [&] {
      std::string v = method;
      for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return v;
    }();
    SCOPED_TRACE(verb + " " + path + " as " + Concrete(path));
    ASSERT_NE(std::find(kMethods.begin(), kMethods.end(), verb), kMethods.end()) << "unexpected method";
    const json& op = document_["paths"][path][method];
    const bool is_public = op.contains("security") && op["security"] == json::array();
    HttpResponse r = Request(verb, Concrete(path));
    EXPECT_NE(r.status, 405) << r.body;
    EXPECT_EQ(r.body.find("no such endpoint"), std::string::npos) << r.body;
    if (!is_public) {
      EXPECT_EQ(r.status, 401) << "a signed-in route must ask for credentials first: " << r.body;
    }
  }
}

TEST_F(OpenApiRoutesTest, UndocumentedMethodsOnDocumentedPathsAre405WithTheDocumentedAllow) {
  for (const auto& [path, item] : document_["paths"].items()) {
    std::set<std::string> documented;
    for (const auto& [method, op] : item.items()) {
      std::string v = method;
      for (char& c : v) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      documented.insert(v);
    }
    std::string want_allow;  // the router's format: sorted, GET followed by HEAD
    for (const std::string& m : documented) want_allow += (want_allow.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
    for (const std::string& verb : kMethods) {
      if (documented.count(verb)) continue;
      SCOPED_TRACE(verb + " " + Concrete(path));
      HttpResponse r = Request(verb, Concrete(path));
      EXPECT_EQ(r.status, 405) << "the router serves an undocumented operation: " << r.body;
      std::string allow;
      for (const auto& [name, value] : r.headers) {
        if (Lower(name) == "allow") allow = value;
      }
      EXPECT_EQ(allow, want_allow);
    }
  }
}

// The Backup, Instance, Protection, Check and Schedule schemas list exactly
// the fields the API writes (json_codec.cc, trust_json.cc) on the list and
// show endpoints, so a field added to one side only is caught.
TEST_F(OpenApiRoutesTest, SchemasListExactlyTheFieldsServed) {
  auto keys = [](const json& object) {
    std::set<std::string> out;
    for (const auto& [k, v] : object.items()) out.insert(k);
    return out;
  };
  auto written = [](const std::function<void(JsonText&)>& write) {
    std::string text;
    JsonText w(text);
    write(w);
    return json::parse(text);
  };
  const json& schemas = document_["components"]["schemas"];
  Backup backup;
  backup.id = 7;
  BackupCheck verified;
  verified.backup_id = 7;
  verified.detail_json = "{\"bytes\":1}";
  const BackupChecks checks{&verified, nullptr};
  const json b = written([&](JsonText& w) { WriteBackup(w, backup, std::nullopt, &checks); });
  EXPECT_EQ(keys(schemas["Backup"]["properties"]), keys(b));

  InstanceProtection p;
  p.last_good = backup;
  p.last_verification = verified;
  const json i = written([&](JsonText& w) {
    WriteInstance(w, Instance{}, InstanceHealth{}, backup, [&](JsonText& out) { WriteProtection(out, p, 0, 1); });
  });
  EXPECT_EQ(keys(schemas["Instance"]["properties"]), keys(i));
  EXPECT_EQ(keys(schemas["Protection"]["properties"]), keys(i["protection"]));
  EXPECT_EQ(keys(schemas["Protection"]["properties"]["last_good_backup"]["allOf"][0]["properties"]),
            keys(i["protection"]["last_good_backup"]));
  json check = i["protection"]["last_verification"];
  check.erase("bytes");  // a count from detail_json: the schema allows additional properties
  EXPECT_EQ(keys(schemas["Check"]["properties"]), keys(check));
  EXPECT_EQ(schemas["Check"]["additionalProperties"], true);

  EXPECT_EQ(keys(schemas["Schedule"]["properties"]), keys(ScheduleJson(Schedule{}, "", json::array())));
  EXPECT_EQ(schemas["Backup"]["properties"]["exclude_presets"]["items"]["enum"], json::array({"logs", "caches"}));
}

}  // namespace
}  // namespace clawback::controller::api
