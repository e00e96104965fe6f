// The one Transfer-Encoding both HTTP servers (controller API, agent) accept.
//
// A request whose body framing the two ends could read differently is
// request smuggling waiting to happen: "chunked, identity" is not chunked to
// Beast (chunked must come last), so its chunks would be parsed as the next
// request. Both servers therefore refuse, with 400 and before reading a body,
// any Transfer-Encoding other than exactly one field whose value is
// "chunked" (case-insensitive, surrounding whitespace allowed).
#pragma once

#include <string_view>
#include <vector>

namespace clawback {

// `values`: every Transfer-Encoding field of the request, in order (empty
// when there is none). True when there is none, or exactly one "chunked".
bool IsAcceptedTransferEncoding(const std::vector<std::string_view>& values);

}  // namespace clawback
