// Hostile input against every route of `clawback serve` (docs/api.md),
// generated systematically: bad credentials, wrong methods, id tricks,
// malformed / deeply nested / invalid-UTF-8 JSON, wrong types, missing
// fields, path tricks, huge path lists, SQL-shaped strings, cron and time
// zone edge cases, query garbage, broken HTTP on the wire, oversized headers
// and bodies, slowloris. Every case must be answered 4xx or with a closed
// connection (never 2xx, never 5xx); after every batch the store (read back
// through the API) and the backups dir must be exactly as before, and the
// service must answer /healthz and an authenticated request.
//
// The audit log is not part of the comparison: refused calls are audited by
// design ("denied: ..." / "failed: ..."), which is a change we want.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "tests/abuse/raw_wire.h"
#include "tests/controller/e2e/e2e_fixture.h"
#include "tests/support/file_tree.h"

namespace clawback::testing {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

enum class Auth { kAdmin, kNone, kUser, kCookieNoCsrf, kCookieBadCsrf, kCustom };

struct HostileCase {
  std::string category;
  std::string method;
  std::string target;
  std::optional<std::string> body;  // raw body text
  Auth auth = Auth::kAdmin;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type = "application/json";
};

// Invalid values for the fields the API validates.
const std::vector<std::string>& BadPaths() {
  static const std::vector<std::string> v = {
      "", " ", "relative", "home/claworc", "./home/claworc", "~", "~/x", "home", "Home", "HOMEBREW",
      "HOME/..", "/home/claworc/..", "/home/claworc/../../etc", "/..", "/../etc/passwd", "/home/./../etc",
      std::string("/home/claworc/a\0b", 17), std::string("\0", 1), "/proc", "/proc/1/environ", "/proc/self/root",
      "/sys", "/sys/kernel/debug", "/dev", "/dev/sda", "/tmp", "/tmp/../etc", "/run", "/run/secrets", "//proc",
      "/./proc", "///sys//", "/" + std::string(5000, 'a'), "/home/claworc/" + std::string(4100, 'b'),
      "C:\\Windows\\System32", "\\\\server\\share", "..\\..\\etc", "\xef\xbc\x8f" "etc\xef\xbc\x8f" "passwd",
      "\xe2\x88\x95" "etc", "\xe2\x80\xae/etc", "' OR '1'='1", "/home/claworc/../../../../root/.ssh",
      "HOME; rm -rf /", "$(id)", "`id`", "%2e%2e/etc", "file:///etc/passwd"};
  return v;
}

const std::vector<std::string>& BadCrons() {
  static const std::vector<std::string> v = {
      "", " ", "*", "* * * *", "* * * * * *", "* * * * * * *", "60 * * * *", "-1 * * * *", "* 24 * * *",
      "* * 0 * *", "* * 32 * *", "* * * 0 *", "* * * 13 *", "* * * * 8", "*/0 * * * *", "*/-1 * * * *",
      "5-1 * * * *", "1-60 * * * *", "a * * * *", "1,,2 * * * *", ",1 * * * *", "1- * * * *", "*/ * * * *",
      "@reboot", "@every 5m", "@yearlyx", "@", "0 0 30 2 *", "0 0 31 2,4,6,9,11 *", "0 0 31 4 *",
      "99999999999999999999 * * * *", "1e3 * * * *", "0x1 * * * *", "* * * JANX *", "* * * * MONX",
      "0 2 * * *; DROP TABLE schedules", "0 2 * * *\n", "0 2 * * * --", "\xef\xbc\x91 * * * *",
      std::string("0 2 * * *\0", 10), std::string(5000, '*'), "0 0 L * *", "0 0 ? * *", "0 0 * * 1#5",
      "0 0 * * 1-7/0", "\xff\xfe * * * *"};
  return v;
}

const std::vector<std::string>& BadTimezones() {
  static const std::vector<std::string> v = {
      "", "Mars/Phobos", "UTC+25", "../../../../etc/passwd", "/etc/localtime", "Europe/../UTC",
      std::string("Europe/Berlin\0", 14), std::string(200, 'Z'), "Europe/Berlin ", " UTC", "UTC; DROP TABLE users",
      "%s%s%s%n", "Etc/GMT+99", "\xff\xfe", "Europe/Berl\xc3\xafn"};
  return v;
}

const std::vector<std::string>& BadInstanceNames() {
  static const std::vector<std::string> v = {
      "", "-x", "x-", "X", "UPPER", "a_b", "a.b", "a/b", "../x", "..", "a b", "'; DROP TABLE instances;--",
      std::string(64, 'a'), "caf\xc3\xa9", "\xef\xbd\x96ictim", std::string("a\0b", 3), "a\xe2\x80\xae" "b",
      "<script>", "a\nb"};
  return v;
}

const std::vector<std::string>& BadAgentUrls() {
  static const std::vector<std::string> v = {
      "", "http://127.0.0.1:1", "ftp://x:1", "javascript:alert(1)", "file:///etc/passwd", "https://", "https://:1",
      "https://host", "https://host:0", "https://host:65536", "https://host:-1", "https://host:1/path",
      "https://host:1?q=1", "https://user:pw@host:1", "https://ho st:1", "https://host\r\nX-Evil: y:1",
      "https://[::1:1", "https://[zz]:1", "https://" + std::string(300, 'h') + ":1", "https://host:1#frag",
      "https://host:99999999999999999999", "https://h\xc3\xb6st:1", "https://host:1'--"};
  return v;
}

const std::vector<std::string>& BadUsernames() {
  static const std::vector<std::string> v = {
      "", "-x", ".x", "_x", "Admin", "a b", "a/b", "a'--", "' OR 1=1 --", "admin", std::string(65, 'u'),
      "caf\xc3\xa9", std::string("a\0", 2), "\xef\xbd\x81", "a\nb", "a;b", "\xff"};
  return v;
}

// Distinct ids for hostile path segments (already percent-encoded).
const std::vector<std::string>& BadIds() {
  static const std::vector<std::string> v = {
      "0", "-1", "abc", "1.0", "1e3", "0x1", "+1", "%201", "1%20OR%201=1", "1;DROP%20TABLE%20backups", "1'--",
      "99999999999999999999999", "9223372036854775807", "9223372036854775808", "%00", "1%00", "%2e%2e",
      "..%2f1", "%E2%80%AE1", "%D9%A1", "%FF", "%EF%BC%91", "null", "[1]"};
  return v;
}

// `depth` levels of open ... inner ... close: valid JSON when the parts are.
std::string Deep(const std::string& open, const std::string& close, int depth, const std::string& inner = "") {
  std::string s;
  s.reserve((open.size() + close.size()) * static_cast<size_t>(depth) + inner.size());
  for (int i = 0; i < depth; ++i) s += open;
  s += inner;
  for (int i = 0; i < depth; ++i) s += close;
  return s;
}

// Generic bodies that are not a JSON object at all.
std::vector<std::pair<std::string, std::string>> BadBodies() {
  return {
      {"not json", "not json"},
      {"open brace", "{"},
      {"close brace", "}"},
      {"truncated", "{\"a\":"},
      {"trailing comma", "{\"a\":1,}"},
      {"empty array", "[]"},
      {"array", "[1,2,3]"},
      {"string", "\"a string\""},
      {"number", "42"},
      {"huge exponent", "-1e999"},
      {"true", "true"},
      {"null", "null"},
      {"trailing garbage", "{}garbage"},
      {"extra close", "{\"a\":1}}"},
      {"single quotes", "{'a':'b'}"},
      {"NaN", "{\"a\":NaN}"},
      {"Infinity", "{\"a\":Infinity}"},
      {"leading zero", "{\"a\":01}"},
      {"bad escape", "{\"a\":\"\\x41\"}"},
      {"invalid utf-8", "{\"name\":\"\xff\xfe\"}"},
      {"overlong utf-8 dots", "{\"name\":\"\xc0\xae\xc0\xae\"}"},
      {"cesu surrogate", "{\"name\":\"\xed\xa0\x80\"}"},
      {"lone surrogate escape", "{\"name\":\"\\ud800\"}"},
      {"raw NUL", std::string("{\"name\":\"a\0b\"}", 14)},
      {"BOM array", "\xef\xbb\xbf[]"},
      {"unterminated string", "{\"a\":\"unterminated}"},
      {"missing colon", "{\"a\" 1}"},
      {"missing comma", "{\"a\":1 \"b\":2}"},
      {"unbalanced nesting 100k", std::string(100000, '[')},
      {"balanced array nesting 100k", Deep("[", "]", 100000)},
      {"balanced object nesting 50k", "[" + Deep("{\"a\":", "}", 50000, "1") + "]"},
      {"control char", "{\"a\":\"\x01\"}"},
  };
}

class ApiAbuseTest : public E2eTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartStack());
    json victim = AddInstance("victim", MakeSmallRoot(stack_->tmp().Sub("root-victim")));
    ASSERT_FALSE(HasFailure());
    instance_id_ = victim["id"].get<int64_t>();
    json b = CompletedBackup(instance_id_, json{{"paths", json::array({"/etc/app"})}});
    ASSERT_FALSE(HasFailure());
    backup_id_ = b["id"].get<int64_t>();
    PlainResponse r = stack_->CreateRestore(backup_id_, instance_id_);
    ASSERT_EQ(r.status, 202) << r.Describe();
    bool ok = false;
    json restore = stack_->WaitRestoreFinal(r.Json()["id"].get<int64_t>(), 60s, &ok);
    ASSERT_TRUE(ok) << restore.dump();
    restore_id_ = restore["id"].get<int64_t>();
    PlainResponse s = stack_->Call("POST", "/api/v1/backup-schedules",
                                   json{{"name", "nightly"}, {"all_instances", true}, {"cron", "0 2 * * *"},
                                        {"timezone", "UTC"}, {"paths", json::array({"HOME"})}, {"enabled", false}});
    ASSERT_EQ(s.status, 201) << s.Describe();
    schedule_id_ = s.Json()["id"].get<int64_t>();
    PlainResponse u = stack_->Call("POST", "/api/v1/users",
                                   json{{"username", "mallory"}, {"password", "mallory-password-1"}, {"role", "user"},
                                        {"can_create_instances", false}});
    ASSERT_EQ(u.status, 201) << u.Describe();
    user_id_ = u.Json()["id"].get<int64_t>();
    PlainResponse tokens = stack_->Call("GET", "/api/v1/auth/tokens");
    token_id_ = tokens.Json()["tokens"][0]["id"].get<int64_t>();

    // mallory's API token and an admin cookie session.
    auto login = [&](const std::string& user, const std::string& pw, std::string* cookie, std::string* csrf) {
      PlainRequest req;
      req.method = "POST";
      req.target = "/api/v1/auth/login";
      req.body = json{{"username", user}, {"password", pw}}.dump();
      auto res = SendPlain(port(), req);
      ASSERT_TRUE(res.ok() && res->status == 200) << (res.ok() ? res->Describe() : res.status().ToString());
      *cookie = res->headers["set-cookie"].substr(0, res->headers["set-cookie"].find(';'));
      *csrf = res->Json()["csrf_token"].get<std::string>();
    };
    std::string mcookie, mcsrf;
    ASSERT_NO_FATAL_FAILURE(login("mallory", "mallory-password-1", &mcookie, &mcsrf));
    PlainRequest mint;
    mint.method = "POST";
    mint.target = "/api/v1/auth/tokens";
    mint.body = json{{"name", "mallory"}}.dump();
    mint.headers = {{"Cookie", mcookie}, {"X-CSRF-Token", mcsrf}};
    auto minted = SendPlain(port(), mint);
    ASSERT_TRUE(minted.ok() && minted->status == 201);
    user_token_ = minted->Json()["secret"].get<std::string>();
    ASSERT_NO_FATAL_FAILURE(login("admin", E2eStack::kAdminPassword, &admin_cookie_, &admin_csrf_));
    ASSERT_FALSE(AdminToken().empty());
    baseline_ = Snapshot();
  }

  uint16_t port() { return stack_->controller()->port(); }

  // Everything a hostile request must not change, read back through the API
  // (volatile health fields and ages left out) plus the archives on disk.
  std::string Snapshot() {
    json s;
    json instances = stack_->Call("GET", "/api/v1/instances").Json();
    for (json& i : instances["instances"]) {
      for (const char* k : {"status", "status_reason", "agent_version", "checked_at"}) i.erase(k);
      // Ages grow while the suite runs; the state itself must not change.
      if (i.contains("protection") && i["protection"].is_object()) {
        i["protection"].erase("reason");
        if (i["protection"]["last_good_backup"].is_object()) i["protection"]["last_good_backup"].erase("age_s");
      }
    }
    s["instances"] = instances;
    s["backups"] = stack_->Call("GET", "/api/v1/backups?limit=500").Json();
    s["restores"] = stack_->Call("GET", "/api/v1/restores?limit=500").Json();
    json schedules = stack_->Call("GET", "/api/v1/backup-schedules").Json();
    for (json& sc : schedules["schedules"]) sc.erase("next_runs");
    s["schedules"] = schedules;
    s["users"] = stack_->Call("GET", "/api/v1/users").Json();
    json tokens = stack_->Call("GET", "/api/v1/auth/tokens").Json();
    for (json& t : tokens["tokens"]) t.erase("last_used_at");
    s["tokens"] = tokens;
    json files = json::object();
    for (const std::string& f : E2eStack::FilesUnder(stack_->backups_dir()))
      files[f] = Sha256OfFile(stack_->backups_dir() + "/" + f);
    s["files"] = files;
    return s.dump(1);
  }

  // Between batches: still answering, and nothing changed.
  void Checkpoint(const std::string& batch) {
    PlainResponse health = stack_->CallAnonymous("GET", "/healthz");
    EXPECT_EQ(health.status, 200) << "after " << batch << ": " << health.Describe();
    PlainResponse normal = stack_->Call("GET", "/api/v1/instances/" + std::to_string(instance_id_));
    EXPECT_EQ(normal.status, 200) << "after " << batch << ": " << normal.Describe();
    std::string now = Snapshot();
    EXPECT_EQ(now, baseline_) << "the store or the backups dir changed during " << batch;
    if (now != baseline_) baseline_ = now;  // report each change once
    ++checkpoints_;
  }

  void Run(const HostileCase& c) {
    PlainRequest req;
    req.method = c.method;
    req.target = c.target;
    req.timeout = 30s;
    if (c.body) req.body = *c.body;
    req.content_type = c.content_type;
    req.headers = c.headers;
    switch (c.auth) {
      case Auth::kAdmin:
        req.headers.emplace_back("Authorization", "Bearer " + AdminToken());
        break;
      case Auth::kUser:
        req.headers.emplace_back("Authorization", "Bearer " + user_token_);
        break;
      case Auth::kCookieNoCsrf:
        req.headers.emplace_back("Cookie", admin_cookie_);
        break;
      case Auth::kCookieBadCsrf:
        req.headers.emplace_back("Cookie", admin_cookie_);
        req.headers.emplace_back("X-CSRF-Token", admin_csrf_.substr(0, admin_csrf_.size() - 2) + "xx");
        break;
      case Auth::kNone:
      case Auth::kCustom:
        break;
    }
    auto res = SendPlain(port(), req);
    Record(c.category, c.method + " " + c.target.substr(0, 120), res.ok() ? res->status : 0,
           res.ok() ? res->Describe() : res.status().ToString());
  }

  void Record(const std::string& category, const std::string& what, int status, const std::string& detail) {
    ++tried_;
    ++by_category_[category];
    if (status == 0) {
      ++closed_;
    } else {
      ++by_status_[status];
    }
    if (status != 0 && (status < 400 || status >= 500)) {
      ADD_FAILURE() << "[" << category << "] " << what << " answered " << status << ": " << detail.substr(0, 600);
      ++bad_;
    }
  }

  std::string AdminToken() {
    // The stack's token, read back from a request it makes.
    if (admin_token_.empty()) {
      PlainResponse r = stack_->Call("GET", "/api/v1/auth/me");
      (void)r;
      admin_token_ = StackToken();
    }
    return admin_token_;
  }
  std::string StackToken();

  std::string Id(const std::string& pattern_key) {
    if (pattern_key == "instance") return std::to_string(instance_id_);
    if (pattern_key == "backup") return std::to_string(backup_id_);
    if (pattern_key == "restore") return std::to_string(restore_id_);
    if (pattern_key == "schedule") return std::to_string(schedule_id_);
    if (pattern_key == "user") return std::to_string(user_id_);
    return std::to_string(token_id_);
  }

  int64_t instance_id_ = 0, backup_id_ = 0, restore_id_ = 0, schedule_id_ = 0, user_id_ = 0, token_id_ = 0;
  std::string user_token_, admin_cookie_, admin_csrf_, admin_token_, baseline_;
  int tried_ = 0, closed_ = 0, bad_ = 0, checkpoints_ = 0;
  std::map<std::string, int> by_category_;
  std::map<int, int> by_status_;
};

// The stack keeps its token private; mint our own admin token instead,
// through the admin's session (a token may not mint tokens).
std::string ApiAbuseTest::StackToken() {
  PlainRequest mint;
  mint.method = "POST";
  mint.target = "/api/v1/auth/tokens";
  mint.body = json{{"name", "abuse"}}.dump();
  mint.headers = {{"Cookie", admin_cookie_}, {"X-CSRF-Token", admin_csrf_}};
  auto r = SendPlain(port(), mint);
  return r.ok() ? r->Json().value("secret", "") : "";
}

struct RouteSpec {
  std::string method;
  std::string pattern;  // "{instance}" etc. name the id kind
  bool json_body = false;
  bool is_public = false;
  bool any_user = false;  // allowed to every signed-in user (not a permission case)
};

const std::vector<RouteSpec>& Routes() {
  static const std::vector<RouteSpec> v = {
      {"GET", "/healthz", false, true},
      {"GET", "/metrics"},  // the scrape token or an admin (no --metrics-open here)
      {"POST", "/api/v1/auth/login", true, true},
      {"POST", "/api/v1/auth/logout", false, false, true},
      {"GET", "/api/v1/auth/me", false, false, true},
      {"PUT", "/api/v1/auth/password", true, false, true},
      {"GET", "/api/v1/auth/tokens", false, false, true},
      {"POST", "/api/v1/auth/tokens", true, false, true},
      {"DELETE", "/api/v1/auth/tokens/{token}", false, false, true},
      {"GET", "/api/v1/instances", false, false, true},
      {"POST", "/api/v1/instances", true},
      {"GET", "/api/v1/instances/{instance}"},
      {"PATCH", "/api/v1/instances/{instance}", true},
      {"DELETE", "/api/v1/instances/{instance}"},
      {"POST", "/api/v1/instances/{instance}/bundle"},
      {"GET", "/api/v1/instances/{instance}/backups"},
      {"POST", "/api/v1/instances/{instance}/backups", true},
      {"GET", "/api/v1/backups", false, false, true},
      {"GET", "/api/v1/backups/{backup}"},
      {"DELETE", "/api/v1/backups/{backup}"},
      {"POST", "/api/v1/backups/{backup}/cancel"},
      {"GET", "/api/v1/backups/{backup}/download"},
      {"POST", "/api/v1/backups/{backup}/restore", true},
      {"GET", "/api/v1/backups/{backup}/files"},
      {"GET", "/api/v1/backups/{backup}/files/content"},
      {"GET", "/api/v1/backups/{backup}/files/archive"},
      {"GET", "/api/v1/backups/{backup}/diff"},
      {"GET", "/api/v1/restores", false, false, true},
      {"GET", "/api/v1/restores/{restore}"},
      {"GET", "/api/v1/backup-schedules"},
      {"POST", "/api/v1/backup-schedules", true},
      {"GET", "/api/v1/backup-schedules/{schedule}"},
      {"PUT", "/api/v1/backup-schedules/{schedule}", true},
      {"DELETE", "/api/v1/backup-schedules/{schedule}"},
      {"POST", "/api/v1/backup-schedules/{schedule}/run"},
      {"GET", "/api/v1/cron/preview", false, false, true},
      {"GET", "/api/v1/users"},
      {"POST", "/api/v1/users", true},
      {"GET", "/api/v1/users/{user}"},
      {"PATCH", "/api/v1/users/{user}", true},
      {"DELETE", "/api/v1/users/{user}"},
      {"PUT", "/api/v1/users/{user}/instances", true},
      {"GET", "/api/v1/users/{user}/tokens"},
      {"DELETE", "/api/v1/users/{user}/tokens/{token}"},
      {"GET", "/api/v1/audit"},
  };
  return v;
}

// Replaces each "{kind}" with id(kind).
std::string Fill(const std::string& pattern, const std::function<std::string(const std::string&)>& id) {
  std::string out;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern[i] == '{') {
      size_t close = pattern.find('}', i);
      out += id(pattern.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

// A body a route would accept, so that one hostile field is what fails.
json ValidBody(const std::string& method, const std::string& pattern, int64_t instance_id) {
  if (pattern == "/api/v1/auth/login") return {{"username", "admin"}, {"password", "not-the-password"}};
  if (pattern == "/api/v1/auth/password")
    return {{"current_password", "not-the-current-one"}, {"new_password", "new-password-123"}};
  if (pattern == "/api/v1/auth/tokens") return {{"name", "abuse-token"}};
  if (pattern == "/api/v1/instances") return {{"name", "abuse-new"}, {"agent_url", "https://127.0.0.1:1"}};
  if (pattern == "/api/v1/instances/{instance}") return {{"name", "renamed-victim"}};
  if (pattern == "/api/v1/instances/{instance}/backups") return {{"paths", json::array({"HOME"})}};
  if (pattern == "/api/v1/backups/{backup}/restore") return {{"instance_id", instance_id}};
  if (pattern == "/api/v1/backup-schedules" || pattern == "/api/v1/backup-schedules/{schedule}")
    return {{"name", "abuse-schedule"}, {"all_instances", true}, {"cron", "0 3 * * *"}, {"timezone", "UTC"},
            {"paths", json::array({"HOME"})}, {"enabled", false}};
  if (pattern == "/api/v1/users")
    return {{"username", "abuse-user"}, {"password", "abuse-password-1"}, {"role", "user"},
            {"can_create_instances", false}};
  if (pattern == "/api/v1/users/{user}") return {{"role", "admin"}};
  if (pattern == "/api/v1/users/{user}/instances") return {{"instance_ids", json::array({instance_id})}};
  (void)method;
  return json::object();
}

// Field -> invalid values (already JSON) for each JSON route.
std::map<std::string, std::vector<json>> BadFields(const std::string& pattern) {
  const std::vector<json> not_string = {1, true, json::array(), json::object(), 1.5};
  const std::vector<json> not_bool = {"true", 1, 0, json::array(), json::object(), "yes"};
  const std::vector<json> not_id = {"1", "victim", 1.5, -1, 0, 99999999, 1e30, true, json::array(), json::object()};
  const std::vector<json> not_id_list = {json::array({99999}), json::array({"1"}), "1", json::array({-1}),
                                         json::array({1.5}), json::object(), json::array({nullptr}), 1};
  auto strings = [](const std::vector<std::string>& v, std::vector<json> extra) {
    for (const std::string& s : v) {
      json j = json(s);
      // Invalid UTF-8 cannot be a JSON string; those are sent raw elsewhere.
      try {
        (void)j.dump();
        extra.push_back(j);
      } catch (const json::exception&) {
      }
    }
    return extra;
  };
  std::vector<json> bad_paths = {"HOME", 1, json::object(), json::array({1}), json::array({nullptr}),
                                 json::array({json::array()}), json::array({json::object()}), json::array({true})};
  for (const std::string& p : BadPaths()) {
    json one = json::array({p});
    try {
      (void)one.dump();
      bad_paths.push_back(one);
      bad_paths.push_back(json::array({"HOME", p}));
    } catch (const json::exception&) {
    }
  }
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back("/home/claworc/d" + std::to_string(i));
  bad_paths.push_back(many);
  json thousand = json::array();
  for (int i = 0; i < 1000; ++i) thousand.push_back("/home/claworc/f" + std::to_string(i));
  bad_paths.push_back(thousand);
  json huge = json::array();
  for (int i = 0; i < 20000; ++i) huge.push_back("HOME");
  bad_paths.push_back(huge);

  const std::vector<json> long_text = {std::string(100 * 1024, 'x')};
  if (pattern == "/api/v1/auth/login")
    return {{"username", strings({"", std::string(100000, 'a'), "admin' OR '1'='1", "admin\"--", "admin%00"},
                                 not_string)},
            {"password", not_string}};
  if (pattern == "/api/v1/auth/password")
    return {{"current_password", not_string}, {"new_password", strings({"", "short"}, not_string)}};
  if (pattern == "/api/v1/auth/tokens")
    return {{"name", strings({"", std::string(101, 'n'), std::string(100 * 1024, 'n'), "a\x01" "b", "a\nb", "\x7f"},
                             not_string)}};
  if (pattern == "/api/v1/instances" || pattern == "/api/v1/instances/{instance}")
    return {{"name", strings(BadInstanceNames(), pattern == "/api/v1/instances"
                                                     ? std::vector<json>{1, true, json::array(), json::object(), "victim"}
                                                     : not_string)}, {"agent_url", strings(BadAgentUrls(), not_string)}};
  if (pattern == "/api/v1/instances/{instance}/backups")
    return {{"paths", bad_paths}, {"note", {1, true, json::array(), json::object(), std::string(1001, 'n')}}};
  if (pattern == "/api/v1/backups/{backup}/restore")
    return {{"instance_id", not_id},
            {"paths", {"/home", 1, json::object(), json::array({1}), json::array({"../etc"}),
                       json::array({"/home/../etc"}), json::array({"/home/claworc/\x01"}), json::array({""}),
                       json::array({"/not/in/the/backup"}), json::array({std::string(5000, 'p')})}},
            {"dry_run", not_bool}};
  if (pattern == "/api/v1/backup-schedules" || pattern == "/api/v1/backup-schedules/{schedule}") {
    std::vector<json> sched_paths(bad_paths.begin(), bad_paths.begin() + 40);
    return {{"name", strings({"", std::string(101, 's')},
                             not_string)},
            {"all_instances", not_bool},
            {"cron", strings(BadCrons(), not_string)},
            {"timezone", strings(BadTimezones(), not_string)},
            {"paths", sched_paths},
            {"enabled", not_bool},
            {"retention",
             {"x", json::array(), json{{"keep_last", -1}}, json{{"keep_last", "3"}}, json{{"keep_last", 100001}},
              json{{"keep_daily", 1.5}}, json{{"keep_weekly", true}}, json{{"keep_monthly", json::array()}}}},
            {"note", {1, json::array(), json::object()}},
            {"instance_ids", {json::array(), json::array({99999}), json::array({"1"}), "1", json::array({-1}),
                              json::array({1.5}), json::object(), json::array({nullptr})}}};
  }
  if (pattern == "/api/v1/users")
    return {{"username", strings(BadUsernames(), not_string)},
            {"password", strings({"", "1234567", std::string(1025, 'p'), std::string("pass\0word", 9)}, not_string)},
            {"role", strings({"root", "ADMIN", "", "superuser", "admin'--"}, not_string)},
            {"can_create_instances", not_bool},
            {"instance_ids", not_id_list}};
  if (pattern == "/api/v1/users/{user}")
    return {{"role", strings({"root", "ADMIN", "", "superuser"}, not_string)},
            {"can_create_instances", not_bool},
            {"password", strings({"", "1234567", std::string(1025, 'p'), std::string("pass\0word", 9)}, not_string)}};
  if (pattern == "/api/v1/users/{user}/instances") return {{"instance_ids", not_id_list}};
  return {};
}

// Required fields: removing one must be refused.
std::vector<std::string> RequiredFields(const std::string& pattern) {
  if (pattern == "/api/v1/auth/login") return {"username", "password"};
  if (pattern == "/api/v1/auth/password") return {"current_password", "new_password"};
  if (pattern == "/api/v1/auth/tokens") return {"name"};
  if (pattern == "/api/v1/instances") return {"name", "agent_url"};
  if (pattern == "/api/v1/backups/{backup}/restore") return {"instance_id"};
  if (pattern == "/api/v1/backup-schedules") return {"name", "cron"};
  if (pattern == "/api/v1/users") return {"username", "password"};
  if (pattern == "/api/v1/users/{user}/instances") return {"instance_ids"};
  return {};
}

TEST_F(ApiAbuseTest, HostileRequestsAreRefusedAndChangeNothing) {
  ASSERT_FALSE(HasFailure());
  const auto began = std::chrono::steady_clock::now();
  auto id = [this](const std::string& k) { return Id(k); };

  // 1. Credentials: none, malformed, forged, another user's, cookies without CSRF.
  const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> bad_auth = {
      {"none", {}},
      {"empty bearer", {{"Authorization", "Bearer"}}},
      {"forged token", {{"Authorization", "Bearer cbk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}},
      {"sql token", {{"Authorization", "Bearer cbk_' OR '1'='1"}}},
      {"basic", {{"Authorization", "Basic YWRtaW46ZTJlLWFkbWluLXBhc3N3b3JkLTE="}}},
      {"utf8 token", {{"Authorization", "Bearer cbk_\xff\xfe\xfd"}}},
      {"long token", {{"Authorization", "Bearer cbk_" + std::string(8000, 'A')}}},
      {"forged cookie", {{"Cookie", "clawback_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}},
      {"sql cookie", {{"Cookie", "clawback_session=' OR 1=1 --"}}},
  };
  for (const RouteSpec& r : Routes()) {
    if (r.is_public) continue;
    const std::string target = Fill(r.pattern, id);
    std::optional<std::string> body;
    if (r.json_body) body = ValidBody(r.method, r.pattern, instance_id_).dump();
    for (const auto& [what, headers] : bad_auth) {
      Run({"credentials: " + what, r.method, target, body, Auth::kCustom, headers});
    }
    if (r.method != "GET") {
      Run({"cookie without csrf", r.method, target, body, Auth::kCookieNoCsrf});
      Run({"cookie with wrong csrf", r.method, target, body, Auth::kCookieBadCsrf});
    }
    if (!r.any_user) Run({"non-admin user", r.method, target, body, Auth::kUser});
  }
  Checkpoint("credentials");

  // 2. Methods a route does not have.
  std::map<std::string, std::set<std::string>> allowed;
  for (const RouteSpec& r : Routes()) allowed[Fill(r.pattern, id)].insert(r.method);
  for (const auto& [target, methods] : allowed) {
    for (const char* m : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND", "FOO"}) {
      if (methods.count(m)) continue;
      Run({"wrong method", m, target, std::nullopt, Auth::kAdmin});
    }
  }
  Checkpoint("wrong methods");

  // 3. Hostile ids in every {id}.
  for (const RouteSpec& r : Routes()) {
    if (r.pattern.find('{') == std::string::npos) continue;
    std::optional<std::string> body;
    if (r.json_body) body = ValidBody(r.method, r.pattern, instance_id_).dump();
    for (const std::string& bad : BadIds()) {
      Run({"hostile id", r.method, Fill(r.pattern, [&](const std::string&) { return bad; }), body, Auth::kAdmin});
    }
  }
  Checkpoint("hostile ids");

  // 4. Bodies that are not a JSON object, wrong content types, oversize.
  for (const RouteSpec& r : Routes()) {
    if (!r.json_body) continue;
    const std::string target = Fill(r.pattern, id);
    const Auth auth = r.pattern == "/api/v1/auth/login" ? Auth::kNone : Auth::kAdmin;
    for (const auto& [what, body] : BadBodies()) Run({"bad body: " + what, r.method, target, body, auth});
    const std::string valid = ValidBody(r.method, r.pattern, instance_id_).dump();
    for (const char* ct : {"text/plain", "application/x-www-form-urlencoded", "application/json-patch+json",
                           "multipart/form-data; boundary=x", "", "application/jsonx", "text/json"}) {
      Run({std::string("content type '") + ct + "'", r.method, target, valid, auth, {}, ct});
    }
    // Deep nesting under a field the route reads.
    const std::string field = ValidBody(r.method, r.pattern, instance_id_).begin().key();
    Run({"deep array in field", r.method, target, "{\"" + field + "\":" + Deep("[", "]", 200000) + "}", auth});
    Run({"deep object in field", r.method, target, "{\"" + field + "\":" + Deep("{\"a\":", "}", 60000, "1") + "}",
         auth});
    Run({"oversized body", r.method, target, "{\"" + field + "\":\"" + std::string((1 << 20) + 10, 'x') + "\"}",
         auth});
  }
  Checkpoint("bad bodies");

  // 5. One hostile field at a time in an otherwise valid body, and missing fields.
  for (const RouteSpec& r : Routes()) {
    if (!r.json_body) continue;
    const std::string target = Fill(r.pattern, id);
    const Auth auth = r.pattern == "/api/v1/auth/login" ? Auth::kNone : Auth::kAdmin;
    const json base = ValidBody(r.method, r.pattern, instance_id_);
    for (const auto& [field, values] : BadFields(r.pattern)) {
      for (const json& v : values) {
        json body = base;
        body[field] = v;
        if (field == "instance_ids" && body.contains("all_instances")) body["all_instances"] = false;
        Run({"bad field " + field, r.method, target, body.dump(), auth});
      }
    }
    for (const std::string& field : RequiredFields(r.pattern)) {
      json body = base;
      body.erase(field);
      Run({"missing field " + field, r.method, target, body.dump(), auth});
    }
    // Invalid UTF-8 inside each string field (not expressible as a json value).
    for (const auto& [field, value] : base.items()) {
      if (!value.is_string()) continue;
      std::string raw = base.dump();
      const std::string needle = "\"" + value.get<std::string>() + "\"";
      size_t at = raw.find(needle);
      if (at == std::string::npos) continue;
      for (const std::string& evil : {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xb0\x80"),
                                      std::string("\xf4\x90\x80\x80"), std::string("\x80")}) {
        std::string body = raw;
        body.insert(at + 1, evil);
        Run({"invalid utf-8 in " + field, r.method, target, body, auth});
      }
    }
  }
  Checkpoint("bad fields");

  // 6. Cron and time zone edge cases in the preview too.
  auto enc = [](const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  };
  for (const std::string& cron : BadCrons()) {
    Run({"cron preview", "GET", "/api/v1/cron/preview?expr=" + enc(cron) + "&tz=UTC", std::nullopt, Auth::kUser});
  }
  for (const std::string& tz : BadTimezones()) {
    if (tz.empty()) continue;  // an empty tz parameter means the default, UTC
    Run({"tz preview", "GET", "/api/v1/cron/preview?expr=" + enc("0 2 * * *") + "&tz=" + enc(tz), std::nullopt,
         Auth::kUser});
  }
  for (const char* n : {"0", "-1", "1001", "100000000000", "abc", "1.5", "", "%00", "5;DROP"}) {
    Run({"preview n", "GET", "/api/v1/cron/preview?expr=" + enc("0 2 * * *") + "&tz=UTC&n=" + n, std::nullopt,
         Auth::kUser});
  }
  Run({"preview without expr", "GET", "/api/v1/cron/preview", std::nullopt, Auth::kUser});
  Checkpoint("cron");

  // 7. Query garbage on the lists.
  const std::vector<std::string> lists = {"/api/v1/backups", "/api/v1/instances/" + id("instance") + "/backups",
                                          "/api/v1/audit", "/api/v1/restores"};
  const std::vector<std::string> queries = {
      "limit=0", "limit=-1", "limit=501", "limit=abc", "limit=1e3", "limit=99999999999999999999", "offset=-1",
      "offset=abc", "limit=10%3BDROP%20TABLE%20backups", "offset=1%27--"};
  for (const std::string& l : lists)
    for (const std::string& q : queries) Run({"query", "GET", l + "?" + q, std::nullopt, Auth::kAdmin});
  for (const std::string& q : std::vector<std::string>{"status=bogus", "status=completed%27%20OR%20%271%27=%271", "status=COMPLETED",
                               "schedule_id=abc", "schedule_id=-1", "schedule_id=1%20OR%201=1"})
    Run({"query", "GET", "/api/v1/backups?" + q, std::nullopt, Auth::kAdmin});
  for (const std::string& q : std::vector<std::string>{"since=yesterday", "until=abc", "since=2026-13-45T99:99:99Z",
                               "since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z", "since=%00",
                               "since=1%27%20OR%201=1--"})
    Run({"query", "GET", "/api/v1/audit?" + q, std::nullopt, Auth::kAdmin});
  for (const std::string& q : std::vector<std::string>{"backup_id=abc", "backup_id=-1", "limit=0", "limit=9999"})
    Run({"query", "GET", "/api/v1/restores?" + q, std::nullopt, Auth::kAdmin});
  // Looking inside a backup: paths are validated like every other path.
  for (const std::string& route : {"/files", "/files/content", "/files/archive"}) {
    for (const std::string& q : std::vector<std::string>{
             "path=..", "path=/home/..", "path=%2e%2e%2fetc", "path=/home/claworc/%00", "path=%0a", "path=a%zz",
             "path=" + std::string(5000, 'p'), "path=/home/claworc/../../etc/passwd"}) {
      Run({"browse query", "GET", "/api/v1/backups/" + id("backup") + route + "?" + q, std::nullopt, Auth::kAdmin});
    }
  }
  for (const std::string& q : std::vector<std::string>{"limit=0", "limit=abc", "limit=501", "offset=-1",
                                                       "q=" + std::string(2000, 'q')}) {
    Run({"browse query", "GET", "/api/v1/backups/" + id("backup") + "/files?" + q, std::nullopt, Auth::kAdmin});
  }
  for (const std::string& q : std::vector<std::string>{"against=abc", "against=-1", "against=99999", "against=1%20OR%201=1"})
    Run({"query", "GET", "/api/v1/backups/" + id("backup") + "/diff?" + q, std::nullopt, Auth::kAdmin});
  Checkpoint("queries");

  // 8. Unknown API paths and path tricks in the URL itself.
  for (const std::string& p : std::vector<std::string>{"/api", "/api/", "/api/v2/instances", "/api/v1/instances/", "/api/v1//instances", "/api/v1/instances/../users",
        "/api/v1/%2e%2e/users", "/api/v1/instances%00", "/api/v1/INSTANCES", "/api/v1/backups/1/download/..",
        "/api/v1/backups/" + id("backup") + "/download/../../../../etc/passwd", "/api/v1/admin", "/api/v1/debug/pprof",
        "/api/v1/openapi.json/../../etc/passwd", "/api/v1/" + std::string(3000, 'a'), "/api/v1/\xff\xfe",
        "/api/v1/users/" + id("user") + "/instances/extra"}) {
    Run({"unknown path", "GET", p, std::nullopt, Auth::kAdmin});
    Run({"unknown path", "POST", p, "{}", Auth::kAdmin});
  }
  Checkpoint("unknown paths");

  // 9. Broken HTTP on the wire.
  const std::string host = "Host: 127.0.0.1\r\n";
  // Anonymous: a parser lenient about the malformation still refuses (401).
  const std::string auth;
  const std::string login_body = R"({"username":"admin","password":"x"})";
  const std::vector<std::pair<std::string, std::string>> wire = {
      {"garbage", "GARBAGE\r\n\r\n"},
      {"method only", "GET\r\n\r\n"},
      {"bad version", "GET /api/v1/instances HTTP/9.9\r\n" + host + auth + "\r\n"},
      {"no version", "GET /api/v1/instances\r\n" + host + auth + "\r\n"},
      {"negative length", "POST /api/v1/instances HTTP/1.1\r\n" + host + auth + "Content-Length: -1\r\n\r\n"},
      {"non-numeric length", "POST /api/v1/instances HTTP/1.1\r\n" + host + auth + "Content-Length: abc\r\n\r\n"},
      {"conflicting lengths", "POST /api/v1/instances HTTP/1.1\r\n" + host + auth +
                                  "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n{}"},
      {"bad chunk size", "POST /api/v1/instances HTTP/1.1\r\n" + host + auth +
                             "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
      {"huge chunk size", "POST /api/v1/instances HTTP/1.1\r\n" + host + auth +
                              "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n{}"},
      {"chunked + length", "POST /api/v1/instances HTTP/1.1\r\n" + host + auth +
                               "Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                               "2\r\n{}\r\n0\r\n\r\n"},
      {"header without colon", "GET /api/v1/instances HTTP/1.1\r\n" + host + auth + "NoColonHere\r\n\r\n"},
      {"space before colon", "GET /api/v1/instances HTTP/1.1\r\n" + host + auth + "X-Test : 1\r\n\r\n"},
      {"NUL in header", "GET /api/v1/instances HTTP/1.1\r\n" + host + auth + std::string("X-Test: a\0b\r\n\r\n", 14)},
      {"obs-fold", "GET /api/v1/instances HTTP/1.1\r\n" + host + auth + "X-Test: a\r\n b\r\n\r\n"},
      {"bad header name", "GET /api/v1/instances HTTP/1.1\r\n" + host + auth + "X[]: 1\r\n\r\n"},
      {"asterisk target", "GET * HTTP/1.1\r\n" + host + auth + "\r\n"},
      {"absolute-form", "GET http://evil.example/api/v1/instances HTTP/1.1\r\n" + host + auth + "\r\n"},
      {"relative target", "GET api/v1/instances HTTP/1.1\r\n" + host + auth + "\r\n"},
      {"bad percent", "GET /api/v1/%zz HTTP/1.1\r\n" + host + auth + "\r\n"},
      {"control char method", "G\x01T /api/v1/instances HTTP/1.1\r\n" + host + auth + "\r\n"},
      {"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
      {"tls hello on http", std::string("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03", 11) + std::string(160, 'A')},
      {"blank lines", "\r\n\r\n\r\n"},
      {"nothing", ""},
      {"short body then eof", "POST /api/v1/auth/login HTTP/1.1\r\n" + host +
                                  "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":"},
      {"long url", "GET /api/v1/instances?" + std::string(20000, 'q') + " HTTP/1.1\r\n" + host + auth + "\r\n"},
      {"header too large", "GET /api/v1/instances HTTP/1.1\r\n" + host + auth + "X-Big: " +
                               std::string(17 * 1024, 'h') + "\r\n\r\n"},
      {"too many headers", "GET /api/v1/instances HTTP/1.1\r\n" + host + auth + [] {
         std::string h;
         for (int i = 0; i < 400; ++i) h += "X-H" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n";
         return h;
       }() + "\r\n"},
      {"oversized body", "POST /api/v1/auth/login HTTP/1.1\r\n" + host + "Content-Type: application/json\r\n" +
                             "Content-Length: " + std::to_string(2 << 20) + "\r\n\r\n" + std::string(2 << 20, ' ')},
      {"expect huge", "POST /api/v1/auth/login HTTP/1.1\r\n" + host +
                          "Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 10000000000\r\n\r\n"},
      {"login with bare LF", "POST /api/v1/auth/login HTTP/1.1\n" + std::string("Host: x\n") +
                                 "Content-Type: application/json\nContent-Length: " +
                                 std::to_string(login_body.size()) + "\n\n" + login_body},
  };
  for (const auto& [what, bytes] : wire) {
    RawReply reply = RawExchange(port(), bytes, 15s);
    EXPECT_TRUE(reply.connected) << what;
    Record("wire: " + what, what, reply.status, reply.text.substr(0, 300));
  }
  Checkpoint("wire");

  // 10. Slowloris: many connections dribbling headers and bodies; normal
  // requests are answered meanwhile.
  {
    std::vector<std::unique_ptr<SlowClient>> slow;
    for (int i = 0; i < 300; ++i) {
      auto c = SlowClient::Open(port());
      ASSERT_TRUE(c) << "connection " << i << " refused";
      const bool body = i % 3 == 0;
      c->Send(body ? "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100000\r\n\r\n{"
                   : "GET /api/v1/instances HTTP/1.1\r\nHost: x\r\nX-Slow: ");
      slow.push_back(std::move(c));
    }
    int answered = 0;
    for (int round = 0; round < 6; ++round) {
      for (auto& c : slow) c->Send("a");
      PlainResponse h = stack_->CallAnonymous("GET", "/healthz");
      PlainResponse n = stack_->Call("GET", "/api/v1/backups/" + id("backup"));
      EXPECT_EQ(h.status, 200) << "healthz during slowloris: " << h.Describe();
      EXPECT_EQ(n.status, 200) << "API during slowloris: " << n.Describe();
      answered += (h.status == 200) + (n.status == 200);
      std::this_thread::sleep_for(500ms);
    }
    int closed_by_server = 0;
    for (auto& c : slow) closed_by_server += c->ClosedByServer();
    tried_ += static_cast<int>(slow.size());
    by_category_["slowloris (held open, service answered meanwhile)"] += static_cast<int>(slow.size());
    std::cout << "[abuse] slowloris: 300 slow connections held for ~3 s; " << answered
              << "/12 normal requests answered meanwhile; " << closed_by_server << " closed by the server so far"
              << std::endl;
  }
  Checkpoint("slowloris");

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::cout << "[abuse] controller: " << tried_ << " hostile cases in " << seconds << " s, " << checkpoints_
            << " checkpoints (health + store/backups-dir comparison); outcomes:";
  for (const auto& [status, n] : by_status_) std::cout << " " << status << "x" << n;
  std::cout << " closed x" << closed_ << "; wrong answers: " << bad_ << "\n";
  for (const auto& [category, n] : by_category_) std::cout << "[abuse]   " << category << ": " << n << "\n";
  std::cout << std::flush;
  EXPECT_GE(tried_, 1000);
}

// Issue 13: the controller refuses any transfer coding other than exactly
// "chunked" (400, connection closed) before reading a body, so nothing after
// the header is read as a second request.
TEST(ApiTransferCodingTest, TransferCodingsOtherThanChunkedAreRefused) {
  E2eStack stack;
  Status started = stack.StartController();
  ASSERT_TRUE(started.ok()) << started.ToString();
  const uint16_t port = stack.controller()->port();
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  ExpectOnlyChunkedTransferCodingAccepted(
      port, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n", smuggled);
  const std::string body = R"({"username":"admin","password":"wrong-password-123"})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  RawReply chunked = RawExchange(port,
                                 "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                                     std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n",
                                 15s);
  EXPECT_EQ(chunked.status, 401) << chunked.text.substr(0, 300);
}

}  // namespace
}  // namespace clawback::testing
