// The agent wire protocol: endpoints, headers and trailers shared by
// clawback-agent (server) and the controller (client). docs/agent-protocol.md
// describes it for operators; this header is the single source of the names.
//
// GET  /healthz      no client certificate needed; 200 {"status":"ok","version","uptime_s"}
// GET  /v1/info      mTLS; 200 {"instance": "<name from the agent's own cert>", "version", ...}
// POST /v1/backup    mTLS; body {"paths":[...]}; 200 chunked application/zstd tar stream,
//                    ending with the trailers below. An error before the first byte is a
//                    JSON error {"error": "..."} with a 4xx/5xx status. An error after the
//                    first byte closes the connection without the final chunk.
// POST /v1/restore   mTLS; body = a tar+zstd stream; 200 JSON RestoreSummary, or a 4xx/5xx
//                    JSON error that still reports entries_written and bytes_written.
#pragma once

#include <string_view>

namespace clawback::protocol {

inline constexpr std::string_view kHealthPath = "/healthz";
inline constexpr std::string_view kInfoPath = "/v1/info";
inline constexpr std::string_view kBackupPath = "/v1/backup";
inline constexpr std::string_view kRestorePath = "/v1/restore";

inline constexpr std::string_view kArchiveContentType = "application/zstd";
inline constexpr std::string_view kJsonContentType = "application/json";

// Trailers ending a successful backup stream. Their presence (with
// kTrailerStatus == "ok") is what tells the receiver the archive is whole.
inline constexpr std::string_view kTrailerStatus = "Clawback-Status";            // "ok"
inline constexpr std::string_view kTrailerEntries = "Clawback-Entries";          // decimal
inline constexpr std::string_view kTrailerBytesRead = "Clawback-Bytes-Read";     // decimal, file bytes read
inline constexpr std::string_view kTrailerBytesSent = "Clawback-Bytes-Sent";     // decimal, compressed bytes
inline constexpr std::string_view kTrailerSha256 = "Clawback-Sha256";            // hex of bytes sent
inline constexpr std::string_view kTrailerWarnings = "Clawback-Warnings";        // decimal count
// JSON array (ASCII-escaped, at most 4 KiB) of the first warning messages.
inline constexpr std::string_view kTrailerWarningDetail = "Clawback-Warning-Detail";

// SPIFFE-style identities carried as URI SANs.
inline constexpr std::string_view kControllerIdentity = "spiffe://claworc/controller";
inline constexpr std::string_view kInstanceIdentityPrefix = "spiffe://claworc/instance/";

}  // namespace clawback::protocol
