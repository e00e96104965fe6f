// Restore drills on the agent side: IndexCapture keeps the index frame of an
// "archive format 2" stream while the extractor reads it (whatever the chunk
// boundaries), and CheckDrillTree finds files that differ from the index,
// files the index lists but extraction did not produce, and SQLite databases
// that fail integrity_check — and nothing on a good tree.
#include "agent/archive/drill_check.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "shared/archive_index.h"
#include "tests/agent/archive/archive_test_util.h"

namespace clawback::agent {
namespace {

using testing::TempDir;

std::string Sha(const std::string& s) {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string Le32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return s;
}

std::string Skippable(uint32_t magic, const std::string& payload) {
  return Le32(magic) + Le32(static_cast<uint32_t>(payload.size())) + payload;
}

const std::vector<testing::TarSpec> kEntries = {
    {"home/app", 'd', "", "", 0755},
    {"home/app/a.txt", 'f', "alpha\n"},
    {"home/app/big.bin", 'f', std::string(300000, 'q')},
};

// The archive with an index frame (and a seek table) after its data frame;
// `bad_sha` gives b.bin a wrong digest in the index, `ghost` lists a file
// the archive does not have.
std::string Format2(bool bad_sha = false, bool ghost = false) {
  namespace ai = archive_index;
  auto line = [](const std::string& path, bool dir, const std::string& content, std::string sha) {
    ai::IndexEntry e;
    e.path = path;
    e.type = dir ? ai::EntryType::kDir : ai::EntryType::kFile;
    e.size = dir ? 0 : content.size();
    e.mode = dir ? 0755 : 0644;
    e.sha256 = std::move(sha);
    return ai::EncodeEntryLine(e) + "\n";
  };
  std::string lines = ai::EncodeHeaderLine() + "\n";
  uint64_t n = 0;
  for (const auto& e : kEntries) {
    const bool dir = e.type == 'd';
    std::string sha = dir ? "" : bad_sha && e.name == "home/app/big.bin" ? std::string(64, 'f') : Sha(e.content);
    lines += line(e.name, dir, e.content, sha);
    ++n;
  }
  if (ghost) {
    lines += line("home/app/ghost", false, "x", Sha("x"));
    ++n;
  }
  lines += ai::EncodeEndLine({n, 0}) + "\n";
  return testing::BuildTarZstd(kEntries) + Skippable(0x184D2A5B, "CBINDEX1" + testing::ZstdCompress(lines)) +
         Skippable(0x184D2A5E, std::string(20, '\0'));
}

struct Drilled {
  std::optional<std::string> index;
  Result<DrillTreeReport> report = Status::Internal("not run");
};

Drilled Drill(const std::string& archive, const std::string& scratch, size_t chunk,
              const std::function<void()>& before_check = {}) {
  testing::StringSource source(archive, chunk);
  IndexCapture capture(source);
  RestoreOptions options;
  options.root = scratch;
  auto extracted = ExtractRestore(options, capture);
  Drilled out;
  if (!extracted.ok()) {
    out.report = extracted.status();
    return out;
  }
  out.index = capture.index_payload();
  if (before_check) before_check();
  out.report = CheckDrillTree(scratch, out.index, {});
  return out;
}

TEST(DrillCheckTest, GoodFormat2TreePassesAtAnyChunkSize) {
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    TempDir scratch;
    Drilled d = Drill(Format2(), scratch.path(), chunk);
    ASSERT_TRUE(d.report.ok()) << d.report.status().ToString();
    ASSERT_TRUE(d.index.has_value()) << "the index frame was captured";
    EXPECT_EQ(d.index->substr(0, 8), "CBINDEX1");
    EXPECT_TRUE(d.report->index);
    EXPECT_EQ(d.report->files_checked, 2u);
    EXPECT_TRUE(d.report->mismatches.empty()) << d.report->mismatches[0].path << ": " << d.report->mismatches[0].problem;
  }
}

TEST(DrillCheckTest, Format1HasNoIndexAndPasses) {
  TempDir scratch;
  Drilled d = Drill(testing::BuildTarZstd(kEntries), scratch.path(), 65536);
  ASSERT_TRUE(d.report.ok()) << d.report.status().ToString();
  EXPECT_FALSE(d.index.has_value());
  EXPECT_FALSE(d.report->index);
  EXPECT_TRUE(d.report->mismatches.empty());
}

TEST(DrillCheckTest, DifferencesFromTheIndexAreNamed) {
  TempDir scratch;
  Drilled changed = Drill(Format2(), scratch.path(), 65536,
                          [&] { testing::WriteFile(scratch / "home/app/a.txt", "alphA\n"); });
  ASSERT_TRUE(changed.report.ok());
  ASSERT_EQ(changed.report->mismatches.size(), 1u);
  EXPECT_EQ(changed.report->mismatches[0].path, "home/app/a.txt");
  EXPECT_NE(changed.report->mismatches[0].problem.find("sha256"), std::string::npos);

  TempDir scratch2;
  Drilled bad = Drill(Format2(/*bad_sha=*/true, /*ghost=*/true), scratch2.path(), 65536);
  ASSERT_TRUE(bad.report.ok());
  ASSERT_EQ(bad.report->mismatches.size(), 2u);
  EXPECT_EQ(bad.report->mismatches[0].path, "home/app/big.bin");
  EXPECT_EQ(bad.report->mismatches[1].path, "home/app/ghost");
  EXPECT_NE(bad.report->mismatches[1].problem.find("missing"), std::string::npos);
}

TEST(DrillCheckTest, CorruptDatabaseIsNamed) {
  TempDir scratch;
  testing::MakeDirs(scratch / "home");
  // A SQLite header over garbage: opens, fails its integrity check.
  std::string image(8192, '\x5a');
  const char header[] = "SQLite format 3";
  std::copy(header, header + 16, image.begin());
  image[16] = 0x10;  // page size 4096
  image[17] = 0x00;
  testing::WriteFile(scratch / "home/app.db", image);
  auto report = CheckDrillTree(scratch.path(), std::nullopt, {});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->databases_checked, 1u);
  ASSERT_EQ(report->mismatches.size(), 1u);
  EXPECT_EQ(report->mismatches[0].path, "home/app.db");
  EXPECT_NE(report->mismatches[0].problem.find("SQLite integrity_check"), std::string::npos);
}

}  // namespace
}  // namespace clawback::agent
