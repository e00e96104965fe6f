// The dashboard's static files (controller/web/assets/), embedded in the
// `clawback` binary at build time: nothing is read from disk or fetched from
// the network at run time.
//
// Serving contract (controller/api wires it):
//   - GET/HEAD of a path FindWebAsset() knows  -> that asset, 200, with
//     Content-Type = content_type, ETag = "\"" + etag + "\"" (304 on a matching
//     If-None-Match) and Cache-Control: no-cache (revalidate; the ETag makes it
//     cheap, and an upgraded binary is picked up at once).
//   - GET/HEAD of any other path outside /api/ (and not /healthz, /metrics)
//     -> WebIndex(), 200, so client-side routes like /backups?instance=web-1 or
//     /instances/web-1 load the app; the app routes on location.pathname.
//   - Every dashboard response should carry kWebSecurityHeaders.
// Asset paths all start with "/assets/" ("/assets/app.js", "/assets/app.css",
// "/assets/js/pages/backups.js", "/assets/favicon.svg").
//
// All data is static and immutable; every function is thread-safe and the
// returned references/pointers live for the whole program.
#pragma once

#include <string_view>
#include <utility>

namespace clawback::controller {

struct WebAsset {
  std::string_view path;          // "/assets/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag;          // hex SHA-256 of body (without quotes)
};

// The asset served at exactly `path` (no query string), or nullptr.
const WebAsset* FindWebAsset(std::string_view path);

// index.html: the page for "/" and every client-side route.
const WebAsset& WebIndex();

// Headers for every dashboard response (index and assets). The app uses no
// inline script or style and talks only to its own origin.
inline constexpr std::pair<std::string_view, std::string_view> kWebSecurityHeaders[] = {
    {"Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "same-origin"},
    {"X-Frame-Options", "DENY"},
};

}  // namespace clawback::controller
