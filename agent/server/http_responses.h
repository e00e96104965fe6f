// How the agent answers in HTTP: Status -> HTTP status, and plain JSON
// responses written synchronously on a handed-over stream. Private to
// agent/server.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/server/transfer_stream.h"
#include "shared/status.h"

namespace clawback::agent {

// A Status as an HTTP status (shared/http_status.h, the one mapping both
// binaries use).
int HttpStatusFor(const Status& status);

// The first warnings as an ASCII JSON array of at most 4 KiB (a trailer value).
std::string WarningDetail(const std::vector<std::string>& warnings);

// Writes a complete JSON response with Connection: close; returns the bytes
// written (0 when the peer was gone).
size_t WriteJsonResponse(TransferStream& io, int status, const nlohmann::json& body, unsigned version);

}  // namespace clawback::agent
