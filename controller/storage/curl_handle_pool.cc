#include "controller/storage/curl_handle_pool.h"

namespace clawback::controller::storage {

CurlHandlePool::Lease::~Lease() {
  if (handle_ != nullptr) pool_->GiveBack(handle_);
}

CurlHandlePool::CurlHandlePool(size_t max_idle) : max_idle_(max_idle) {
  share_ = curl_share_init();
  if (share_ != nullptr) {
    curl_share_setopt(share_, CURLSHOPT_LOCKFUNC, &CurlHandlePool::Lock);
    curl_share_setopt(share_, CURLSHOPT_UNLOCKFUNC, &CurlHandlePool::Unlock);
    curl_share_setopt(share_, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share_, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
}

CurlHandlePool::~CurlHandlePool() {
  // Handles first: closing their connections and dropping their share
  // references uses the share.
  for (CURL* h : idle_) curl_easy_cleanup(h);
  idle_.clear();
  if (share_ != nullptr) curl_share_cleanup(share_);
}

CurlHandlePool::Lease CurlHandlePool::Checkout() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      CURL* h = idle_.back();
      idle_.pop_back();
      return Lease(this, h);
    }
  }
  CURL* h = curl_easy_init();
  // curl_easy_reset keeps the share (as it keeps connections), so it is set once.
  if (h != nullptr && share_ != nullptr) curl_easy_setopt(h, CURLOPT_SHARE, share_);
  return Lease(this, h);
}

void CurlHandlePool::ApplyConnectionOptions(CURL* handle) {
  curl_easy_setopt(handle, CURLOPT_MAXCONNECTS, 1L);
  curl_easy_setopt(handle, CURLOPT_MAXAGE_CONN, kMaxIdleSeconds);
}

void CurlHandlePool::GiveBack(CURL* handle) {
  // Reset now, not at the next checkout: the request's options point into
  // its stack (error buffer, callback data), and nothing may use them later.
  curl_easy_reset(handle);
  {
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) {
      idle_.push_back(handle);
      return;
    }
  }
  curl_easy_cleanup(handle);
}

void CurlHandlePool::Lock(CURL*, curl_lock_data data, curl_lock_access, void* self) {
  static_cast<CurlHandlePool*>(self)->share_locks_[static_cast<size_t>(data)].lock();
}

void CurlHandlePool::Unlock(CURL*, curl_lock_data data, void* self) {
  static_cast<CurlHandlePool*>(self)->share_locks_[static_cast<size_t>(data)].unlock();
}

}  // namespace clawback::controller::storage
