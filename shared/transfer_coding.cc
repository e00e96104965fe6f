#include "shared/transfer_coding.h"

#include <cctype>

namespace clawback {

bool IsAcceptedTransferEncoding(const std::vector<std::string_view>& values) {
  if (values.empty()) return true;
  if (values.size() != 1) return false;
  std::string_view v = values.front();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  constexpr std::string_view kChunked = "chunked";
  if (v.size() != kChunked.size()) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(v[i])) != kChunked[i]) return false;
  }
  return true;
}

}  // namespace clawback
