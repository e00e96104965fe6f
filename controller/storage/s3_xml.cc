#include "controller/storage/s3_xml.h"

#include <cstdlib>

namespace clawback::controller::storage::xml {
namespace {

void AppendUtf8(std::string& out, unsigned long cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string Decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '&') {
      out.push_back(in[i]);
      continue;
    }
    size_t semi = in.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    std::string_view ent = in.substr(i + 1, semi - i - 1);
    if (ent == "amp") out.push_back('&');
    else if (ent == "lt") out.push_back('<');
    else if (ent == "gt") out.push_back('>');
    else if (ent == "quot") out.push_back('"');
    else if (ent == "apos") out.push_back('\'');
    else if (!ent.empty() && ent[0] == '#') {
      std::string num(ent.substr(1));
      int base = 10;
      if (!num.empty() && (num[0] == 'x' || num[0] == 'X')) {
        base = 16;
        num.erase(0, 1);
      }
      char* end = nullptr;
      unsigned long cp = std::strtoul(num.c_str(), &end, base);
      if (num.empty() || end == nullptr || *end != '\0') {
        out.append(in.substr(i, semi - i + 1));
      } else {
        AppendUtf8(out, cp);
      }
    } else {
      out.append(in.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

// Finds the next element named `tag` at or after `from`: sets [inner_begin,
// inner_end) and returns the position after its end tag, or npos.
size_t Next(std::string_view doc, std::string_view tag, size_t from, size_t* inner_begin, size_t* inner_end) {
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  for (size_t at = doc.find(open, from); at != std::string_view::npos; at = doc.find(open, at + 1)) {
    size_t after = at + open.size();
    if (after >= doc.size()) return std::string_view::npos;
    char c = doc[after];
    if (c != '>' && c != ' ' && c != '/' && c != '\t' && c != '\n' && c != '\r') continue;  // a longer name
    size_t gt = doc.find('>', after);
    if (gt == std::string_view::npos) return std::string_view::npos;
    if (doc[gt - 1] == '/') {  // <tag/>
      *inner_begin = *inner_end = gt + 1;
      return gt + 1;
    }
    size_t end = doc.find(close, gt + 1);
    if (end == std::string_view::npos) return std::string_view::npos;
    *inner_begin = gt + 1;
    *inner_end = end;
    return end + close.size();
  }
  return std::string_view::npos;
}

}  // namespace

std::optional<std::string> First(std::string_view doc, std::string_view tag) {
  size_t b = 0, e = 0;
  if (Next(doc, tag, 0, &b, &e) == std::string_view::npos) return std::nullopt;
  return Decode(doc.substr(b, e - b));
}

std::vector<std::string_view> All(std::string_view doc, std::string_view tag) {
  std::vector<std::string_view> out;
  size_t pos = 0, b = 0, e = 0;
  while ((pos = Next(doc, tag, pos, &b, &e)) != std::string_view::npos) out.push_back(doc.substr(b, e - b));
  return out;
}

std::string Escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace clawback::controller::storage::xml
