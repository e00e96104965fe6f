// The one place where a Status becomes an HTTP status code and an error body.
//
// Every 4xx/5xx the controller sends has the JSON body
//   {"error": "<message a user can act on>", "code": "<Status code name>", "field": "<input field>"}
// with "field" present only when one input field is at fault. Handlers return
// a Status; the router and the session turn it into a response here, with the
// HTTP status from the shared mapping (shared/http_status.h, docs/api.md
// "Conventions").
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "controller/api/http_message.h"
#include "shared/status.h"

namespace clawback::controller::api {

// A JSON error response for `status` (must not be OK). `field` names the
// input at fault, if any. `http_status` overrides the mapping only for
// wire-level limits the session enforces itself (413 body too large, 431
// header too large, 415 not JSON).
HttpResponse ErrorResponse(const Status& status, std::string_view field = {}, int http_status = 0);

// When `message` starts with "<name>: " and <name> is one of `fields`,
// returns <name> (e.g. "cron: day-of-week value 8 out of range" -> "cron").
std::string FieldFromMessage(std::string_view message, std::initializer_list<std::string_view> fields);

}  // namespace clawback::controller::api
