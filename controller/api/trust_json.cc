#include "controller/api/trust_json.h"

#include <map>

#include "controller/api/api.h"
#include "controller/clock.h"
#include "controller/store/store.h"
#include "controller/verify/protection.h"
#include "controller/verify/trust_settings.h"

namespace clawback::controller::api {

namespace {

Json CheckWithBackup(const std::optional<BackupCheck>& c) {
  if (!c) return nullptr;
  Json j = CheckJson(*c);
  j["backup_id"] = c->backup_id;
  return j;
}

std::string Label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void WriteProtection(JsonText& w, const InstanceProtection& p, UnixTime now, int64_t unprotected_after_s) {
  auto check = [&](const std::optional<BackupCheck>& c) {
    if (c) {
      w.Value(CheckWithBackup(c));
    } else {
      w.Null();
    }
  };
  w.BeginObject();
  w.Key("last_drill");
  check(p.last_drill);
  w.Key("last_good_backup");
  if (p.last_good) {
    w.BeginObject();
    w.Key("age_s").Int(now - p.last_good->completed_at);
    w.Key("completed_at");
    if (p.last_good->completed_at == 0) {
      w.Null();
    } else {
      w.String(FormatRfc3339(p.last_good->completed_at));
    }
    w.Key("id").Int(p.last_good->id);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("last_verification");
  check(p.last_verification);
  w.Key("reason").String(p.reason);
  w.Key("state").String(p.state);
  w.Key("unprotected_after_s").Int(unprotected_after_s);
  w.EndObject();
}

Json ProtectionJson(ApiContext& ctx, const InstanceProtection& p, UnixTime now) {
  std::string text;
  JsonText w(text);
  WriteProtection(w, p, now, UnprotectedAfter(ctx));
  return Json::parse(text);
}

int64_t UnprotectedAfter(ApiContext& ctx) { return ctx.trust ? ctx.trust->unprotected_after_s : 2 * 86400; }

Json ProtectionJson(ApiContext& ctx, const Instance& instance) {
  const UnixTime now = ctx.clock.Now();
  auto p = AssessProtection(ctx.store, instance, UnprotectedAfter(ctx), now);
  if (!p.ok()) return nullptr;
  return ProtectionJson(ctx, *p, now);
}

Result<std::map<Id, InstanceProtection>> FleetProtectionOf(ApiContext& ctx, const std::vector<Instance>& instances,
                                                           UnixTime now) {
  return AssessFleetProtection(ctx.store, instances, UnprotectedAfter(ctx), now);
}

std::string ProtectionMetricsText(ApiContext& ctx) {
  auto instances = ctx.store.ListInstances();
  if (!instances.ok()) return "";
  const UnixTime now = ctx.clock.Now();
  auto assessed = FleetProtectionOf(ctx, *instances, now);
  if (!assessed.ok()) return "";
  std::string good, verify_at, verify_ok, drill_at, drill_ok, state;
  std::map<std::string, int> counts = {{"protected", 0}, {"stale", 0}, {"failing", 0}, {"unprotected", 0}};
  for (const Instance& i : *instances) {
    const InstanceProtection* p = &assessed->at(i.id);
    const std::string l = "{instance=\"" + Label(i.name) + "\"}";
    if (p->last_good) good += "clawback_instance_last_good_backup_timestamp_seconds" + l + " " + std::to_string(p->last_good->completed_at) + "\n";
    if (p->last_verification) {
      verify_at += "clawback_instance_last_verification_timestamp_seconds" + l + " " + std::to_string(p->last_verification->at) + "\n";
      verify_ok += "clawback_instance_last_verification_success" + l + " " +
                   (p->last_verification->status == CheckStatus::kPassed ? "1" : "0") + "\n";
    }
    if (p->last_drill) {
      drill_at += "clawback_instance_last_drill_timestamp_seconds" + l + " " + std::to_string(p->last_drill->at) + "\n";
      drill_ok += "clawback_instance_last_drill_success" + l + " " +
                  (p->last_drill->status == CheckStatus::kPassed ? "1" : "0") + "\n";
    }
    for (const char* s : {"protected", "stale", "failing", "unprotected"}) {
      state += "clawback_instance_protection{instance=\"" + Label(i.name) + "\",state=\"" + s + "\"} " +
               (p->state == s ? "1" : "0") + "\n";
    }
    counts[p->state] += 1;
  }
  std::string out;
  auto family = [&](const char* name, const char* type, const char* help, const std::string& lines) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + lines;
  };
  family("clawback_instance_last_good_backup_timestamp_seconds", "gauge",
         "Completion time of the instance's newest completed backup", good);
  family("clawback_instance_last_verification_timestamp_seconds", "gauge",
         "When the newest verification of the instance's backups finished", verify_at);
  family("clawback_instance_last_verification_success", "gauge", "1 when that verification passed, else 0", verify_ok);
  family("clawback_instance_last_drill_timestamp_seconds", "gauge",
         "When the newest restore drill of the instance's backups finished", drill_at);
  family("clawback_instance_last_drill_success", "gauge", "1 when that drill passed, else 0", drill_ok);
  family("clawback_instance_protection", "gauge", "1 for the instance's protection state", state);
  std::string fleet;
  for (const auto& [s, n] : counts) fleet += "clawback_fleet_instances{state=\"" + s + "\"} " + std::to_string(n) + "\n";
  family("clawback_fleet_instances", "gauge", "Instances by protection state", fleet);
  return out;
}

Result<std::vector<BackupCheck>> ChecksOf(ApiContext& ctx, const std::vector<Id>& backup_ids) {
  return ctx.store.ListBackupChecks(backup_ids);
}

BackupChecks ChecksFor(const std::vector<BackupCheck>& checks, Id backup_id) {
  BackupChecks out;
  for (const BackupCheck& c : checks) {
    if (c.backup_id != backup_id) continue;
    (c.kind == CheckKind::kVerify ? out.verification : out.drill) = &c;
  }
  return out;
}

void AttachChecks(ApiContext& ctx, std::vector<Json*> backups) {
  std::vector<Id> ids;
  for (Json* b : backups) {
    (*b)["verification"] = nullptr;
    (*b)["drill"] = nullptr;
    ids.push_back(b->value("id", Id{0}));
  }
  auto checks = ChecksOf(ctx, ids);
  if (!checks.ok()) return;
  for (Json* b : backups) {
    BackupChecks mine = ChecksFor(*checks, b->value("id", Id{0}));
    if (mine.verification) (*b)["verification"] = CheckJson(*mine.verification);
    if (mine.drill) (*b)["drill"] = CheckJson(*mine.drill);
  }
}

}  // namespace clawback::controller::api
