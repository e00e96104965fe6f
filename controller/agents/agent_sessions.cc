#include "controller/agents/agent_sessions.h"

namespace clawback::controller {

https::SessionPtr AgentSessions::Get(const Instance& instance) const {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(instance.id);
  if (it == sessions_.end() || it->second.name != instance.name || it->second.agent_url != instance.agent_url) {
    return nullptr;
  }
  // A copy per connection: connections resuming at once never share one.
  return https::SessionPtr(SSL_SESSION_dup(it->second.session.get()));
}

void AgentSessions::Put(const Instance& instance, https::SessionPtr session) {
  if (session == nullptr) return;
  std::lock_guard lock(mu_);
  sessions_[instance.id] = Entry{instance.name, instance.agent_url, std::move(session)};
}

void AgentSessions::Forget(Id instance_id) {
  std::lock_guard lock(mu_);
  sessions_.erase(instance_id);
}

}  // namespace clawback::controller
