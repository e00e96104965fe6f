// The REST API of docs/api.md as one RequestHandler for HttpServer: the route
// table (router.h), the handlers (one file per noun), the OpenAPI document at
// /api/v1/openapi.json, /healthz, /metrics and the dashboard at /.
//
// Every request runs the same steps, in the router, before a handler does any
// work: match the route (404/405 JSON otherwise), authenticate (401), check
// CSRF for cookie mutations (403), check the JSON content type and parse the
// body (415/400), load the records the route names and call
// auth::Authorize with the route's Action and those records (401/403/404).
// Handlers therefore never check roles themselves.
//
// ApiContext holds references to the controller's services; they must outlive
// the handler. The handler is thread-safe (every service it uses is).
//
// The client address used for the audit log and sign-in limits comes from
// ProxyTrust (a trusted reverse proxy's X-Forwarded-For, else the peer); the
// session cookie is Secure when the request came over TLS, through a trusted
// proxy that says X-Forwarded-Proto: https, or always with secure_cookies.
#pragma once

#include <string>

#include "controller/api/proxy_trust.h"
#include "controller/api/server.h"
#include "controller/replicas/replica_status.h"

namespace clawback::controller {
class Store;
class Clock;
class TransferService;
class Scheduler;
class AgentConnector;
class Metrics;
class VerificationService;
class DrillService;
class WebhookDispatcher;
struct TrustSettings;
namespace storage {
class ArchiveStorage;
}
namespace auth {
class SessionManager;
class UserAdmin;
class AuditLog;
}  // namespace auth
}  // namespace clawback::controller

namespace clawback::controller::api {

struct ApiContext {
  Store& store;
  const Clock& clock;
  auth::SessionManager& sessions;
  auth::UserAdmin& users;
  auth::AuditLog& audit;
  TransferService& transfers;
  Scheduler& scheduler;
  AgentConnector& agents;
  Metrics& metrics;
  std::string ca_cert_file;  // <data>/pki/ca.crt: signs agent bundles
  std::string ca_key_file;   // <data>/pki/ca.key
  std::string backups_dir;   // canonical (ResolveBackupsDir); records name archives relative to it
  ProxyTrust proxies;        // --trusted-proxy: whose forwarding headers are believed
  bool secure_cookies = false;  // --secure-cookies: the session cookie is always Secure
  // /metrics: anyone when metrics_open; else "Authorization: Bearer
  // <metrics_token>" (when set) or an admin's session or API token.
  std::string metrics_token;
  bool metrics_open = false;
  // Issue 19 (verification, alerts, fleet protection); null in contexts
  // built without them (their routes then answer 503).
  VerificationService* verifier = nullptr;
  DrillService* drills = nullptr;
  WebhookDispatcher* webhooks = nullptr;
  const TrustSettings* trust = nullptr;
  // Issue 18: this replica's id and leadership on /healthz and /metrics;
  // null when built without replicas.
  ReplicaStatusSource replica;
  // Where archives are kept (controller/storage); null: the local
  // directory backups_dir.
  storage::ArchiveStorage* archives = nullptr;
};

RequestHandler MakeApiHandler(ApiContext& context);

}  // namespace clawback::controller::api
