// Delivers alert events to webhooks in the background.
//
// Publish() records one delivery per enabled webhook subscribed to the event
// (webhook_deliveries, status `pending`) and queues it; it never touches the
// network, so the transfer, verification and scheduler threads that publish
// are never slowed by a receiver. `workers` threads POST each body (JSON,
// signed with X-Clawback-Signature, webhook_signature.h) with the CLI's HTTP
// client (controller/cli/http_client.h: http or https, the system trust
// store), each network step limited to `timeout`. A 2xx answer is
// `delivered`; anything else is retried after `first_backoff`, doubling,
// until `max_attempts`, then `failed`. The queue holds at most `queue_limit`
// deliveries: beyond that a delivery is recorded `failed` ("dropped: ...")
// at once. Deliveries still queued at shutdown stay `pending` in the log,
// and the next dispatcher (the controller's next start) queues them again
// (at least once: one in flight at a crash may arrive twice).
//
// Secrets are read from the store per delivery, sent only as the MAC, never
// logged. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/alerts/events.h"
#include "controller/store/trust_model.h"
#include "shared/status.h"

namespace clawback::controller {

class Store;

struct WebhookSettings {
  std::chrono::seconds timeout{5};               // per connect / write / read
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{1000};  // then doubled per attempt
  size_t queue_limit = 1000;
  int workers = 2;
};

class WebhookDispatcher {
 public:
  WebhookDispatcher(Store& store, WebhookSettings settings);
  ~WebhookDispatcher();  // Shutdown()
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  // Queues `event` for every enabled webhook subscribed to it. Never blocks
  // on the network; store errors are logged.
  void Publish(const AlertEvent& event);
  // Queues a webhook.test event for one webhook (enabled or not) and returns
  // its delivery record. NotFound for an unknown id.
  Result<WebhookDelivery> SendTest(Id webhook_id);
  // Stops the workers (an attempt in flight ends within `timeout`).
  void Shutdown();

 private:
  struct Job {
    WebhookDelivery delivery;
    Id webhook_id = 0;
  };
  using TimePoint = std::chrono::steady_clock::time_point;

  Status Enqueue(const Webhook& hook, const std::string& event, const std::string& body,
                 WebhookDelivery* recorded);
  // Queues the `pending` deliveries recorded before this start; constructor only.
  void ResumePending();
  void Work();
  void Attempt(Job job);

  Store& store_;
  const WebhookSettings settings_;
  std::mutex mu_;  // guards due_, stopping_
  std::condition_variable changed_;
  std::multimap<TimePoint, Job> due_;  // by next attempt time
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace clawback::controller
