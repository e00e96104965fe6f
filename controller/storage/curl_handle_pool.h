// libcurl easy handles kept between requests, so that S3 requests reuse
// their connections (HTTP keep-alive) instead of paying a TCP and, with
// https, a TLS handshake each.
//
// Why a pool of easy handles and not a shared connection cache: libcurl
// (7.88) can share a connection cache between handles (CURLSH with
// CURL_LOCK_DATA_CONNECT), but its maintainers say that sharing is not safe
// across concurrent threads (a known bug; see the curl-library thread
// "Concurrency and send/recv", 2021). An easy handle keeps its own
// connection cache, and curl_easy_reset() keeps it (with the DNS and TLS
// session caches) while clearing every option. So a request checks out a
// handle, sets all its options, performs, and gives the handle back reset;
// the next request on that handle finds the live connection. Only what the
// share interface does support across threads is shared between handles:
// the DNS cache and TLS session ids (CURL_LOCK_DATA_DNS, _SSL_SESSION, with
// one mutex per kind), so a handle that must connect anew resumes a TLS
// session instead of a full handshake.
//
// Each handle caches at most one connection (one request at a time to one
// endpoint), and a connection idle for more than kMaxIdleSeconds is not
// reused (servers close idle connections; see S3Client for what happens
// when one closes as a request goes out). The pool keeps at most
// `max_idle` handles; more concurrent requests get fresh handles, freed
// when given back to a full pool.
//
// Thread-safe: Checkout and the return of a Lease take `mu_`; a checked-out
// handle belongs to its lease's thread alone. The pool must outlive its
// leases.
#pragma once

#include <curl/curl.h>

#include <array>
#include <cstddef>
#include <mutex>
#include <vector>

namespace clawback::controller::storage {

class CurlHandlePool {
 public:
  static constexpr long kMaxIdleSeconds = 20;

  // A checked-out handle, given back (reset) when destroyed. Null only when
  // libcurl could not allocate one.
  class Lease {
   public:
    Lease(Lease&& other) noexcept : pool_(other.pool_), handle_(other.handle_) { other.handle_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    CURL* get() const { return handle_; }

   private:
    friend class CurlHandlePool;
    Lease(CurlHandlePool* pool, CURL* handle) : pool_(pool), handle_(handle) {}
    CurlHandlePool* pool_;
    CURL* handle_;
  };

  explicit CurlHandlePool(size_t max_idle = 16);
  ~CurlHandlePool();
  CurlHandlePool(const CurlHandlePool&) = delete;
  CurlHandlePool& operator=(const CurlHandlePool&) = delete;

  // The most recently returned handle (its connection is the likeliest to
  // be alive), or a new one. Its options are libcurl's defaults except the
  // share; the caller sets the rest, then calls ApplyConnectionOptions.
  Lease Checkout();
  // Options that keep reuse bounded; call after setting the request's own
  // options (they are cleared between requests).
  static void ApplyConnectionOptions(CURL* handle);

 private:
  void GiveBack(CURL* handle);
  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* self);
  static void Unlock(CURL*, curl_lock_data data, void* self);

  const size_t max_idle_;
  CURLSH* share_ = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> share_locks_;  // one per kind of shared data
  std::mutex mu_;
  std::vector<CURL*> idle_;  // guarded by mu_; most recently returned last
};

}  // namespace clawback::controller::storage
