// The engine-neutral parts of the SQL layer (sql_connection.h): the
// connection pool and PostgreSQL's placeholder numbering.
#include "controller/store/sql_connection.h"

namespace clawback::controller::store::sql {

ConnectionPool::ConnectionPool(std::vector<std::unique_ptr<Connection>> connections)
    : engine_(connections.empty() ? Engine::kSqlite : connections.front()->engine()), all_(std::move(connections)) {
  if (all_.empty()) throw std::invalid_argument("a connection pool needs at least one connection");
  for (auto& c : all_) free_.push_back(c.get());
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  freed_.wait(lock, [&] { return !free_.empty(); });
  Connection* c = free_.back();
  free_.pop_back();
  return Lease(*this, c);
}

void ConnectionPool::Release(Connection* c) {
  c->Recover();
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(c);
  }
  freed_.notify_one();
}

std::string NumberPlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  char quote = 0;  // the quote character we are inside, or 0
  int n = 0;
  for (char ch : sql) {
    if (quote != 0) {
      // A doubled quote ('it''s') closes and reopens: same result.
      if (ch == quote) quote = 0;
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      out += '$' + std::to_string(++n);
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace clawback::controller::store::sql
