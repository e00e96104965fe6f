// The agent wire protocol: endpoints, headers and trailers shared by
// clawback-agent (server) and the controller (client). docs/agent-protocol.md
// describes it for operators; this header is the single source of the names.
//
// GET  /healthz      no client certificate needed; 200 {"status":"ok","version","uptime_s"}
// GET  /v1/info      mTLS; 200 {"instance": "<name from the agent's own cert>", "version", ...}
// POST /v1/backup    mTLS; body {"paths":[...], "excludes":[glob...], "strict":bool,
//                    "quiesce":bool}; 200 chunked application/zstd tar stream, ending with
//                    the trailers below. An error before the first byte is a JSON error
//                    {"error": "...", "code": "..."} with a 4xx/5xx status. An error after
//                    the first byte either ends the body with a final chunk whose
//                    Clawback-Status is "error" and Clawback-Error says why (a refusal the
//                    agent decided, e.g. `strict` and a database it could not capture), or
//                    closes the connection without the final chunk. Only
//                    Clawback-Status: ok means the archive is whole.
// POST /v1/restore   mTLS; query ?quiesce=0|1 (default 1: run the restore hooks when the
//                    agent has them); body = a tar+zstd stream; 200 JSON RestoreSummary
//                    (with "quiesced": bool and "changes": {"create": {"count"},
//                    "replace": {"count"}}: entries created where nothing was vs. replacing
//                    what was there), or a 4xx/5xx JSON error that still reports
//                    entries_written and bytes_written.
//                    ?dry_run=1: a preview. The whole stream is read, NOTHING is written
//                    and no hook runs; each entry the same rules allow is compared with
//                    the target (agent/archive/restore_preview.h); 200 {"dry_run": true,
//                    "entries": n, "changes": {"create"|"replace"|"unchanged": {"count",
//                    "first": [at most 100 archive names]}}, "skipped": [...], ...}.
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
// SQLite databases written as a transactionally consistent image (decimal).
inline constexpr std::string_view kTrailerDatabases = "Clawback-Databases";
// Files with the SQLite header archived as plain bytes, each with a warning (decimal).
inline constexpr std::string_view kTrailerDatabasesRaw = "Clawback-Databases-Raw";
// "true" when the pre-backup hook ran (and so its post-backup hook).
inline constexpr std::string_view kTrailerQuiesced = "Clawback-Quiesced";
// With Clawback-Status: error, why the agent failed the stream (one line).
inline constexpr std::string_view kTrailerError = "Clawback-Error";
// The archive's format (docs/archive-format.md): "2" for a seekable archive
// ending with an index frame and a seek table (shared/archive_index.h,
// shared/seek_table.h). Absent: format 1 (one zstd frame, no index).
inline constexpr std::string_view kTrailerArchiveFormat = "Clawback-Archive-Format";
inline constexpr std::string_view kArchiveFormatSeekable = "2";
// Format 2: entry lines in the archive's index (decimal; equals Clawback-Entries).
inline constexpr std::string_view kTrailerIndexEntries = "Clawback-Index-Entries";

// Backup request body fields.
inline constexpr std::string_view kFieldPaths = "paths";        // aliases or absolute paths
inline constexpr std::string_view kFieldExcludes = "excludes";  // globs on absolute paths, "**" allowed
inline constexpr std::string_view kFieldStrict = "strict";      // fail on any database not captured
inline constexpr std::string_view kFieldQuiesce = "quiesce";    // run the agent's own hooks (default true)
// Restore query parameters: quiesce (same meaning as kFieldQuiesce) and
// dry_run=1 (preview: nothing written, no hooks; see POST /v1/restore above).
inline constexpr std::string_view kQueryQuiesce = "quiesce";
inline constexpr std::string_view kQueryDryRun = "dry_run";

// SPIFFE-style identities carried as URI SANs.
inline constexpr std::string_view kControllerIdentity = "spiffe://claworc/controller";
inline constexpr std::string_view kInstanceIdentityPrefix = "spiffe://claworc/instance/";

}  // namespace clawback::protocol
