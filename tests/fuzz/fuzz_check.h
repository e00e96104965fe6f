// FUZZ_CHECK: the property assertion of the fuzz targets. A failed check
// prints what was expected and aborts, which libFuzzer reports as a crash
// (and saves the input as crash-<sha1>); the replay driver fails the ctest.
// Unlike assert() it stays on in release builds.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace clawback::fuzz {

// Printable form of fuzz input for failure messages (bytes < 0x20, >= 0x7f and
// '\\' escaped as \xNN; at most 300 bytes).
inline std::string Show(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s.substr(0, 300)) {
    if (c < 0x20 || c >= 0x7f || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 300) out += "...";
  return out;
}

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* cond, const std::string& detail) {
  std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n  %s\n", file, line, cond, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace clawback::fuzz

// FUZZ_CHECK(cond, detail): `detail` is a std::string expression evaluated only on failure.
#define FUZZ_CHECK(cond, detail) \
  do {                           \
    if (!(cond)) ::clawback::fuzz::CheckFailed(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)
