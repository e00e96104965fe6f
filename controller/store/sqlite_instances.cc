// SqliteStore: the agent containers (table instances). Deleting one drops its
// assignments (ON DELETE CASCADE) and its id from every schedule naming it;
// its backups stay, identified by instance_name.
#include <algorithm>

#include "controller/store/sqlite_internal.h"

namespace clawback::controller::store::sqlite {
namespace {

constexpr const char* kInstanceColumns = "id, name, agent_url, created_by, created_at";

Instance ReadInstance(SQLite::Statement& q) {
  Instance i;
  i.id = q.getColumn(0).getInt64();
  i.name = q.getColumn(1).getString();
  i.agent_url = q.getColumn(2).getString();
  i.created_by = q.getColumn(3).getInt64();
  i.created_at = q.getColumn(4).getInt64();
  return i;
}

Status NameTaken(const std::string& name) {
  return Status::AlreadyExists("instance " + Quoted(name) + " already exists");
}

// Removes `id` from the instance list of every schedule that names it, so a
// later instance can never be backed up by a schedule meant for this one.
void ForgetInSchedules(SQLite::Database& db, Id id) {
  SQLite::Statement list(db, "SELECT id, instance_ids_json FROM schedules WHERE all_instances = 0");
  std::vector<std::pair<Id, std::vector<Id>>> changed;
  while (list.executeStep()) {
    std::vector<Id> ids = JsonToIds(list.getColumn(1).getString(), "schedules.instance_ids_json");
    auto it = std::remove(ids.begin(), ids.end(), id);
    if (it != ids.end()) {
      ids.erase(it, ids.end());
      changed.emplace_back(list.getColumn(0).getInt64(), std::move(ids));
    }
  }
  SQLite::Statement upd(db, "UPDATE schedules SET instance_ids_json = ? WHERE id = ?");
  for (const auto& [sid, ids] : changed) {
    Bind(upd, IdsToJson(ids), sid);
    upd.exec();
    upd.reset();
  }
}

}  // namespace

Result<Instance> SqliteStore::CreateInstance(const Instance& instance) {
  return Run("create instance", [&] {
    Instance i = instance;
    i.created_at = OrNow(i.created_at);
    ExecChecked(*db_, "INSERT INTO instances (name, agent_url, created_by, created_at) VALUES (?, ?, ?, ?)",
                {.unique = NameTaken(i.name)}, i.name, i.agent_url, i.created_by, i.created_at);
    i.id = db_->getLastInsertRowid();
    return i;
  });
}

Result<Instance> SqliteStore::GetInstance(Id id) {
  return Run("get instance", [&] {
    return QueryOne(*db_, Select(kInstanceColumns, "FROM instances WHERE id = ?"), ReadInstance,
                    NotFound("instance", id), id);
  });
}

Result<Instance> SqliteStore::GetInstanceByName(const std::string& name) {
  return Run("get instance", [&] {
    return QueryOne(*db_, Select(kInstanceColumns, "FROM instances WHERE name = ?"), ReadInstance,
                    NotFound("instance", name), name);
  });
}

Result<std::vector<Instance>> SqliteStore::ListInstances() {
  return RunRead("list instances",
             [&] { return QueryAll(*reader_statements_.Get(Select(kInstanceColumns, "FROM instances ORDER BY name")),
                                   ReadInstance); });
}

Status SqliteStore::UpdateInstance(const Instance& instance) {
  return Run("update instance", [&] {
    int changed = ExecChecked(*db_, "UPDATE instances SET name = ?, agent_url = ?, created_by = ? WHERE id = ?",
                              {.unique = NameTaken(instance.name)}, instance.name, instance.agent_url,
                              instance.created_by, instance.id);
    if (changed == 0) Fail(NotFound("instance", instance.id));
  });
}

Status SqliteStore::DeleteInstance(Id id) {
  return Run("delete instance", [&] {
    SQLite::Transaction tx(*db_, SQLite::TransactionBehavior::IMMEDIATE);
    ExecOne(*db_, "DELETE FROM instances WHERE id = ?", NotFound("instance", id), id);
    ForgetInSchedules(*db_, id);
    tx.commit();
  });
}

}  // namespace clawback::controller::store::sqlite
