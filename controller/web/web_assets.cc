#include "controller/web/web_assets.h"

#include <algorithm>
#include <cstdlib>
#include <span>

namespace clawback::controller {

// Defined in the generated web_assets_data.cc, sorted by path.
std::span<const WebAsset> EmbeddedWebAssets();

const WebAsset* FindWebAsset(std::string_view path) {
  std::span<const WebAsset> assets = EmbeddedWebAssets();
  auto it = std::lower_bound(assets.begin(), assets.end(), path,
                             [](const WebAsset& a, std::string_view p) { return a.path < p; });
  if (it == assets.end() || it->path != path) return nullptr;
  return &*it;
}

const WebAsset& WebIndex() {
  static const WebAsset* index = FindWebAsset("/assets/index.html");
  if (index == nullptr) std::abort();  // a build without index.html is broken, not degraded
  return *index;
}

}  // namespace clawback::controller
