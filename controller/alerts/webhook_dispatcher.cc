#include "controller/alerts/webhook_dispatcher.h"

#include <algorithm>

#include "controller/alerts/webhook_signature.h"
#include "controller/cli/http_client.h"
#include "controller/store/store.h"
#include "shared/log.h"

namespace clawback::controller {
namespace {

UnixTime Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

constexpr int kMaxListedDeliveries = 500;  // the store's per-call limit

bool Subscribed(const Webhook& hook, const std::string& event) {
  return std::find(hook.events.begin(), hook.events.end(), event) != hook.events.end();
}

}  // namespace

WebhookDispatcher::WebhookDispatcher(Store& store, WebhookSettings settings)
    : store_(store), settings_(settings) {
  ResumePending();
  for (int i = 0; i < std::max(1, settings_.workers); ++i) workers_.emplace_back([this] { Work(); });
}

void WebhookDispatcher::ResumePending() {
  auto hooks = store_.ListWebhooks();
  if (!hooks.ok()) {
    log::Error("webhooks: cannot list webhooks to resume deliveries", {{"error", hooks.status().message()}});
    return;
  }
  size_t resumed = 0;
  for (const Webhook& hook : *hooks) {
    // The store lists at most kMaxListedDeliveries, newest first: older
    // pending ones (a receiver down through hundreds of events) stay pending.
    auto deliveries = store_.ListWebhookDeliveries(hook.id, kMaxListedDeliveries);
    if (!deliveries.ok()) {
      log::Error("webhooks: cannot list deliveries to resume", {{"webhook_id", hook.id},
                                                                {"error", deliveries.status().message()}});
      continue;
    }
    for (const WebhookDelivery& d : *deliveries) {
      if (d.status != "pending" || due_.size() >= settings_.queue_limit) continue;
      due_.emplace(std::chrono::steady_clock::now(), Job{d, hook.id});
      ++resumed;
    }
  }
  if (resumed > 0) log::Info("webhooks: resumed deliveries pending at the last stop", {{"count", resumed}});
}

WebhookDispatcher::~WebhookDispatcher() { Shutdown(); }

void WebhookDispatcher::Shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WebhookDispatcher::Publish(const AlertEvent& event) {
  auto hooks = store_.ListWebhooks();
  if (!hooks.ok()) {
    log::Error("webhooks: cannot list webhooks", {{"event", event.name}, {"error", hooks.status().message()}});
    return;
  }
  std::string body;
  for (const Webhook& hook : *hooks) {
    if (!hook.enabled || !Subscribed(hook, event.name)) continue;
    if (body.empty()) body = EventBody(event);
    Status st = Enqueue(hook, event.name, body, nullptr);
    if (!st.ok()) log::Error("webhooks: cannot queue a delivery", {{"webhook_id", hook.id}, {"error", st.message()}});
  }
}

Result<WebhookDelivery> WebhookDispatcher::SendTest(Id webhook_id) {
  auto hook = store_.GetWebhook(webhook_id);
  if (!hook.ok()) return hook.status();
  AlertEvent event;
  event.name = std::string(kEventTest);
  event.time = Now();
  event.detail = {{"webhook_id", webhook_id}, {"message", "test delivery from clawback"}};
  WebhookDelivery recorded;
  CLAWBACK_RETURN_IF_ERROR(Enqueue(*hook, event.name, EventBody(event), &recorded));
  return recorded;
}

Status WebhookDispatcher::Enqueue(const Webhook& hook, const std::string& event, const std::string& body,
                                  WebhookDelivery* recorded) {
  WebhookDelivery d;
  d.webhook_id = hook.id;
  d.event = event;
  d.body = body;
  d.created_at = Now();
  d.status = "pending";
  bool full = false;
  {
    std::lock_guard lock(mu_);
    full = stopping_ || due_.size() >= settings_.queue_limit;
  }
  if (full) {
    d.status = "failed";
    d.error = "dropped: the delivery queue is full (or the controller is stopping)";
  }
  auto created = store_.CreateWebhookDelivery(d);
  if (!created.ok()) return created.status();
  if (recorded) *recorded = *created;
  if (full) {
    log::Warn("webhooks: delivery dropped, queue full", {{"webhook_id", hook.id}, {"event", event}});
    return Status::Ok();
  }
  {
    std::lock_guard lock(mu_);
    due_.emplace(std::chrono::steady_clock::now(), Job{*created, hook.id});
  }
  changed_.notify_one();
  return Status::Ok();
}

void WebhookDispatcher::Work() {
  std::unique_lock lock(mu_);
  while (true) {
    if (stopping_) return;
    if (due_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto first = due_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      changed_.wait_until(lock, first->first);
      continue;
    }
    Job job = std::move(first->second);
    due_.erase(first);
    lock.unlock();
    Attempt(std::move(job));
    lock.lock();
  }
}

void WebhookDispatcher::Attempt(Job job) {
  WebhookDelivery& d = job.delivery;
  auto hook = store_.GetWebhook(job.webhook_id);
  if (!hook.ok()) return;  // deleted meanwhile: its log went with it
  d.attempts += 1;
  d.last_attempt_at = Now();
  d.http_status = 0;
  d.error.clear();

  auto url = cli::ParseServerUrl(hook->url);
  if (!url.ok()) {
    d.error = url.status().message();
  } else {
    cli::HttpClientOptions options;
    options.step_timeout = settings_.timeout;
    cli::HttpClient client(*url, options);
    cli::HttpRequest request;
    request.method = "POST";
    request.target = url->base_path.empty() ? "/" : "";
    request.body = d.body;
    request.content_type = "application/json";
    request.headers = {{std::string(kSignatureHeader), SignWebhookBody(hook->secret, d.body)},
                       {"X-Clawback-Event", d.event},
                       {"X-Clawback-Delivery", std::to_string(d.id)},
                       {"User-Agent", "clawback-webhooks"}};
    auto response = client.Send(request);
    if (!response.ok()) {
      d.error = response.status().message();
    } else {
      d.http_status = response->status;
      if (response->status < 200 || response->status > 299) {
        d.error = "receiver answered HTTP " + std::to_string(response->status);
      }
    }
  }
  const bool delivered = d.error.empty();
  const bool retry = !delivered && d.attempts < settings_.max_attempts;
  d.status = delivered ? "delivered" : retry ? "pending" : "failed";
  Status st = store_.UpdateWebhookDelivery(d);
  if (!st.ok()) log::Error("webhooks: cannot record a delivery", {{"delivery_id", d.id}, {"error", st.message()}});
  if (!delivered) {
    log::Warn("webhooks: delivery attempt failed", {{"webhook_id", job.webhook_id},
                                                    {"delivery_id", d.id},
                                                    {"attempt", d.attempts},
                                                    {"error", d.error}});
  }
  if (!retry) return;
  auto backoff = settings_.first_backoff * (1LL << std::min(d.attempts - 1, 16));
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    due_.emplace(std::chrono::steady_clock::now() + backoff, std::move(job));
  }
  changed_.notify_one();
}

}  // namespace clawback::controller
