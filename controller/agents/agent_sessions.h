// TLS sessions of agents (private to controller/agents), so the next
// connection to an agent resumes instead of making a full handshake: no
// certificate chain to verify and no signatures, which is most of the
// controller's CPU per health probe and a part of it per transfer.
//
// A session is kept per instance id together with the instance's name and
// agent URL, and offered only while both are unchanged: never to another
// agent. The caller still checks the peer's identity after every handshake;
// a resumed session carries the certificate and verify result of the full
// handshake it came from. A failed handshake or identity check Forget()s it.
//
// Thread-safe: `mu_` guards `sessions_`.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "controller/https/https_connection.h"
#include "controller/store/model.h"

namespace clawback::controller {

class AgentSessions {
 public:
  // A new reference to the session to offer `instance`'s agent, or null.
  https::SessionPtr Get(const Instance& instance) const;
  void Put(const Instance& instance, https::SessionPtr session);
  void Forget(Id instance_id);

 private:
  struct Entry {
    std::string name;
    std::string agent_url;
    https::SessionPtr session;
  };
  mutable std::mutex mu_;
  std::map<Id, Entry> sessions_;  // guarded by mu_
};

}  // namespace clawback::controller
