// Server-side prepared statements per PostgreSQL connection
// (postgres_prepared.h).
#include "controller/store/postgres_prepared.h"

#include <algorithm>

namespace clawback::controller::store::sql {
namespace {

// The failures that mean the server no longer has the statement as we
// prepared it: 26000 invalid_sql_statement_name (deallocated behind our
// back), 0A000 feature_not_supported ("cached plan must not change result
// type", raised before the statement does anything).
bool ForgottenOrStale(std::string_view state) {
  return state == "26000" || state == "0A000";
}

}  // namespace

ResultPtr PreparedStatements::Run(const std::string& sql, const std::vector<const char*>& values) {
  const int n = static_cast<int>(values.size());
  if (capacity_ == 0) {
    return Checked(conn_, PQexecParams(conn_, sql.c_str(), n, nullptr, values.data(), nullptr, nullptr,
                                       /*resultFormat=*/0));
  }
  if (PQbackendPID(conn_) != backend_pid_) {
    Lost();
    backend_pid_ = PQbackendPID(conn_);
  }
  if (deallocate_all_due_ && PQtransactionStatus(conn_) != PQTRANS_INERROR) Forget();
  for (bool first = true;; first = false) {
    const std::string name = NameFor(sql);
    ResultPtr r(PQexecPrepared(conn_, name.c_str(), n, values.data(), nullptr, nullptr, /*resultFormat=*/0));
    if (first && r && !Succeeded(r.get()) && PQstatus(conn_) == CONNECTION_OK &&
        ForgottenOrStale(SqlStateOf(r.get()))) {
      Forget();
      if (PQtransactionStatus(conn_) == PQTRANS_IDLE) continue;
      // In a transaction, which the error aborted: retrying the transaction
      // works, as after a serialization failure.
      throw Error(ErrorKind::kBusy,
                  Trimmed(PQresultErrorMessage(r.get())) + " (prepared again on the next call)");
    }
    return Checked(conn_, r.release());
  }
}

std::string PreparedStatements::NameFor(const std::string& sql) {
  if (auto it = by_sql_.find(sql); it != by_sql_.end()) {
    it->second.last_run = ++clock_;
    return it->second.name;
  }
  // In an aborted transaction the server refuses DEALLOCATE as it refuses
  // the prepare below; the cache stays as it is and the prepare reports it.
  if (by_sql_.size() >= capacity_ && PQtransactionStatus(conn_) != PQTRANS_INERROR) EvictLeastRecentlyUsed();
  std::string name = "clawback_" + std::to_string(++last_name_);
  // Throws on failure, before anything is cached.
  Checked(conn_, PQprepare(conn_, name.c_str(), sql.c_str(), /*nParams=*/0, /*paramTypes=*/nullptr));
  by_sql_.try_emplace(sql, Entry{name, ++clock_});
  return name;
}

void PreparedStatements::EvictLeastRecentlyUsed() {
  auto oldest = std::min_element(by_sql_.begin(), by_sql_.end(), [](const auto& a, const auto& b) {
    return a.second.last_run < b.second.last_run;
  });
  if (oldest == by_sql_.end()) return;
  const std::string deallocate = "DEALLOCATE " + oldest->second.name;  // our own name: an identifier
  by_sql_.erase(oldest);
  try {
    Checked(conn_, PQexec(conn_, deallocate.c_str()));
  } catch (const Error&) {
    // The server did not have it (dropped behind our back) or the connection
    // broke: nothing the cache holds can be trusted now.
    by_sql_.clear();
    deallocate_all_due_ = PQstatus(conn_) == CONNECTION_OK;
    throw;
  }
}

void PreparedStatements::Forget() {
  // Nothing known and nothing due: the session holds none of ours (each
  // prepare is cached or failed), so spare the round trip.
  const bool held = !by_sql_.empty() || deallocate_all_due_;
  by_sql_.clear();
  deallocate_all_due_ = false;
  if (!held || capacity_ == 0 || PQstatus(conn_) != CONNECTION_OK) return;
  if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    deallocate_all_due_ = true;
    return;
  }
  Checked(conn_, PQexec(conn_, "DEALLOCATE ALL"));
}

void PreparedStatements::Lost() noexcept {
  by_sql_.clear();
  deallocate_all_due_ = false;
}

}  // namespace clawback::controller::store::sql
