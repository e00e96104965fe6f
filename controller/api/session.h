// One HTTP connection (private to controller/api): read a request with limits,
// run the handler on the worker pool, write the response, repeat while
// keep-alive. Beast's do_x/on_x shape; every step has a timeout.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "controller/api/server.h"

namespace clawback::controller::api {

// What every session of one server shares; owned by the server, outlives
// every session (the server joins its threads before destroying it).
struct SessionShared {
  ServerOptions options;
  RequestHandler handler;
  boost::asio::thread_pool* workers = nullptr;
  std::shared_ptr<boost::asio::ssl::context> ssl;   // null for plain HTTP
};

// Takes ownership of an accepted socket and runs the session until the
// connection ends. The socket's executor should be a strand.
void StartSession(boost::asio::ip::tcp::socket socket, const SessionShared& shared);

}  // namespace clawback::controller::api
