// The few elements of S3's XML responses the client reads (private to
// controller/storage). Not a general XML parser: S3 responses are flat,
// well-formed documents, and the elements read here never nest in
// themselves. Text is entity-decoded (&amp; &lt; &gt; &quot; &apos; and
// numeric references).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace clawback::controller::storage::xml {

// The decoded text of the first <tag>...</tag> (or nullopt; <tag/> is "").
std::optional<std::string> First(std::string_view doc, std::string_view tag);
// The raw inner XML of every <tag>...</tag>, in order.
std::vector<std::string_view> All(std::string_view doc, std::string_view tag);
// `text` with &, <, >, " and ' escaped, for request bodies.
std::string Escape(std::string_view text);

}  // namespace clawback::controller::storage::xml
