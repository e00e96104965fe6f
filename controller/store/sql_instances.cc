// SqlStore: the agent containers (table instances). Deleting one drops its
// assignments (ON DELETE CASCADE) and its id from every schedule naming it;
// its backups stay, identified by instance_name.
#include <algorithm>

#include "controller/store/sql_internal.h"

namespace clawback::controller::store::sql {
namespace {

constexpr const char* kInstanceColumns = "id, name, agent_url, created_by, created_at";

Instance ReadInstance(const Statement& q) {
  Instance i;
  i.id = q.Int64(0);
  i.name = q.Text(1);
  i.agent_url = q.Text(2);
  i.created_by = q.Int64(3);
  i.created_at = q.Int64(4);
  return i;
}

Status NameTaken(const std::string& name) {
  return Status::AlreadyExists("instance " + Quoted(name) + " already exists");
}

// Removes `id` from the instance list of every schedule that names it, so a
// later instance can never be backed up by a schedule meant for this one.
void ForgetInSchedules(Connection& db, Id id) {
  auto list = db.Prepare("SELECT id, instance_ids_json FROM schedules WHERE all_instances = 0");
  std::vector<std::pair<Id, std::vector<Id>>> changed;
  while (list->Step()) {
    std::vector<Id> ids = JsonToIds(list->Text(1), "schedules.instance_ids_json");
    auto it = std::remove(ids.begin(), ids.end(), id);
    if (it != ids.end()) {
      ids.erase(it, ids.end());
      changed.emplace_back(list->Int64(0), std::move(ids));
    }
  }
  auto upd = db.Prepare("UPDATE schedules SET instance_ids_json = ? WHERE id = ?");
  for (const auto& [sid, ids] : changed) {
    Bind(*upd, IdsToJson(ids), sid);
    upd->Execute();
    upd->Reset();
  }
}

}  // namespace

Result<Instance> SqlStore::CreateInstance(const Instance& instance) {
  return Run("create instance", [&](Connection& db) {
    Instance i = instance;
    i.created_at = OrNow(i.created_at);
    i.id = InsertReturningId(db,
                             "INSERT INTO instances (name, agent_url, created_by, created_at) VALUES (?, ?, ?, ?) "
                             "RETURNING id",
                {.unique = NameTaken(i.name)}, i.name, i.agent_url, i.created_by, i.created_at);
    return i;
  });
}

Result<Instance> SqlStore::GetInstance(Id id) {
  return Run("get instance", [&](Connection& db) {
    return QueryOne(db, Select(kInstanceColumns, "FROM instances WHERE id = ?"), ReadInstance,
                    NotFound("instance", id), id);
  });
}

Result<Instance> SqlStore::GetInstanceByName(const std::string& name) {
  return Run("get instance", [&](Connection& db) {
    return QueryOne(db, Select(kInstanceColumns, "FROM instances WHERE name = ?"), ReadInstance,
                    NotFound("instance", name), name);
  });
}

Result<std::vector<Instance>> SqlStore::ListInstances() {
  return RunRead("list instances",
             [&](Connection& db) { return QueryAll(db, Select(kInstanceColumns, "FROM instances ORDER BY name"), ReadInstance); });
}

Status SqlStore::UpdateInstance(const Instance& instance) {
  return Run("update instance", [&](Connection& db) {
    int64_t changed = ExecChecked(db, "UPDATE instances SET name = ?, agent_url = ?, created_by = ? WHERE id = ?",
                              {.unique = NameTaken(instance.name)}, instance.name, instance.agent_url,
                              instance.created_by, instance.id);
    if (changed == 0) Fail(NotFound("instance", instance.id));
  });
}

Status SqlStore::DeleteInstance(Id id) {
  return Run("delete instance", [&](Connection& db) {
    Transaction tx(db);
    ExecOne(db, "DELETE FROM instances WHERE id = ?", NotFound("instance", id), id);
    ForgetInSchedules(db, id);
    tx.Commit();
  });
}

}  // namespace clawback::controller::store::sql
