// Differential test: NextRunTimes against python3-croniter.
//
// Thousands of random expressions x zones x start times (half of them within
// days of a DST transition) go to croniter_oracle.py in ONE python process
// (JSON lines through a file on stdin, answers on a pipe; exec, no shell).
//
// Two comparisons:
//   1. Against the oracle's "rule" answer (croniter matching naive local
//      times + zoneinfo applying clawback's DST rule): must agree everywhere.
//   2. Against croniter's own time-zone-aware answer: must agree wherever the
//      UTC offset is the same across the window. Where a DST transition lies
//      in the window croniter 1.3 follows its own heuristics (it can fire a
//      repeated hour twice or shift slots by the DST delta), which clawback
//      deliberately does not copy (docs/scheduling.md); those cases are only
//      counted.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "controller/scheduler/cron.h"
#include "controller/scheduler/scheduler.h"

namespace clawback::controller {
namespace {

// DST transitions 2025-2027 in Berlin, New York, Lord Howe, Chatham, Santiago.
constexpr UnixTime kTransitions[] = {
    1743296400, 1761440400, 1774746000, 1792890000, 1806195600, 1824944400, 1741503600, 1762063200,
    1772953200, 1793512800, 1805007600, 1825567200, 1743865200, 1759591800, 1775314800, 1791041400,
    1806764400, 1822491000, 1743861600, 1758981600, 1775311200, 1790431200, 1806760800, 1821880800,
    1743908400, 1757217600, 1775358000, 1788667200, 1806807600, 1820116800};

const char* const kZones[] = {"UTC",           "Europe/Berlin",   "America/New_York", "Australia/Lord_Howe",
                              "Asia/Kolkata", "Pacific/Chatham", "America/Santiago"};

constexpr const char* kMonthNames[] = {"", "jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

class ExprGenerator {
 public:
  explicit ExprGenerator(uint32_t seed) : rng_(seed) {}

  std::string Next() {
    if (Chance(0.04)) {
      const char* macros[] = {"@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"};
      return macros[Int(0, 6)];
    }
    return Field(0, 59, 0.15, nullptr) + " " + Field(0, 23, 0.35, nullptr) + " " +
           Field(1, 31, 0.6, nullptr) + " " + Field(1, 12, 0.75, kMonthNames) + " " +
           Field(0, 6, 0.6, kDayNames);
  }

 private:
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  std::string Value(int v, const char* const* names) {
    if (names && Chance(0.3)) return names[v];
    return std::to_string(v);
  }

  std::string Field(int lo, int hi, double star, const char* const* names) {
    if (Chance(star)) return "*";
    int items = Chance(0.7) ? 1 : Int(2, 3);
    std::string out;
    for (int i = 0; i < items; ++i) {
      if (i) out += ",";
      int a = Int(lo, hi);
      int b = Int(a, hi);
      int s = Int(1, std::max(1, (hi - lo) / 2));
      switch (Int(0, 5)) {
        case 0: out += Value(a, names); break;
        case 1: out += Value(a, names) + "-" + Value(b, names); break;
        case 2: out += "*/" + std::to_string(s); break;
        case 3: out += Value(a, names) + "-" + Value(b, names) + "/" + std::to_string(s); break;
        case 4: out += std::to_string(a) + "/" + std::to_string(s); break;
        default: out += Value(a, names); break;
      }
    }
    return out;
  }

  std::mt19937 rng_;
};

// Runs argv[0] with stdin from `input_path`; returns its stdout.
std::string RunProcess(const std::vector<std::string>& argv, const std::string& input_path, int* exit_code) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) return {};
  int in_fd = open(input_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in_fd, 0);
    dup2(out_pipe[1], 1);
    close(out_pipe[0]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(in_fd);
  close(out_pipe[1]);
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = read(out_pipe[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(out_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

struct Case {
  std::string expr;
  std::string zone;
  UnixTime start;
};

TEST(CroniterDiffTest, RandomExpressionsZonesAndDstWindows) {
  if (access(CLAWBACK_PYTHON3, X_OK) != 0) GTEST_SKIP() << "no " << CLAWBACK_PYTHON3;
  constexpr int kCases = 3000;
  constexpr int kRuns = 5;
  ExprGenerator gen(20261125);
  std::mt19937 rng(7);
  std::vector<Case> cases;
  for (int i = 0; i < kCases; ++i) {
    Case c;
    c.expr = gen.Next();
    c.zone = kZones[rng() % std::size(kZones)];
    if (rng() % 2 == 0) {
      // Within three days before to one day after a transition.
      c.start = kTransitions[rng() % std::size(kTransitions)] - 3 * 86400 + static_cast<UnixTime>(rng() % (4 * 86400));
    } else {
      c.start = 1704067200 + static_cast<UnixTime>(rng() % (6ull * 365 * 86400));  // 2024..2030
    }
    cases.push_back(std::move(c));
  }

  char input_path[] = "/tmp/clawback-croniter-XXXXXX";
  int fd = mkstemp(input_path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream in(input_path);
    for (const Case& c : cases) {
      in << nlohmann::json{{"expr", c.expr}, {"tz", c.zone}, {"start", c.start}, {"n", kRuns}}.dump() << "\n";
    }
  }
  int exit_code = -1;
  std::string output = RunProcess({CLAWBACK_PYTHON3, CLAWBACK_CRONITER_ORACLE}, input_path, &exit_code);
  unlink(input_path);
  ASSERT_EQ(exit_code, 0) << "oracle failed (is python3-croniter installed?)";

  std::istringstream lines(output);
  std::string line;
  int index = 0;
  int compared = 0, both_rejected = 0, croniter_same = 0, croniter_dst_differs = 0, croniter_failed = 0;
  int failures = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(index, kCases);
    const Case& c = cases[index++];
    nlohmann::json res = nlohmann::json::parse(line);
    auto ours = NextRunTimes(c.expr, c.zone, c.start, kRuns);
    std::string where = "expr='" + c.expr + "' tz=" + c.zone + " start=" + std::to_string(c.start);
    if (res.contains("error")) {
      // Only expressions that can never fire may be refused by croniter; we
      // refuse those too (or they fire via the day-of-week OR rule).
      EXPECT_FALSE(ours.ok()) << where << " croniter: " << res["error"];
      if (!ours.ok()) ++both_rejected;
      continue;
    }
    if (!ours.ok()) {
      ADD_FAILURE() << where << ": we refuse what croniter accepts: " << ours.status().message();
      continue;
    }
    ++compared;
    std::vector<UnixTime> rule = res["rule"].get<std::vector<UnixTime>>();
    if (*ours != rule && ++failures <= 20) {
      ADD_FAILURE() << where << ": differs from the DST rule oracle\n ours: "
                    << nlohmann::json(*ours).dump() << "\n rule: " << nlohmann::json(rule).dump();
    }
    if (res["croniter"].is_null()) {
      ++croniter_failed;
      continue;
    }
    std::vector<UnixTime> theirs = res["croniter"].get<std::vector<UnixTime>>();
    if (*ours == theirs) {
      ++croniter_same;
    } else if (res["shifted"].get<bool>()) {
      ++croniter_dst_differs;  // documented: croniter's own DST heuristics
    } else if (++failures <= 20) {
      ADD_FAILURE() << where << ": differs from croniter with no DST change in the window\n ours:     "
                    << nlohmann::json(*ours).dump() << "\n croniter: " << nlohmann::json(theirs).dump();
    }
  }
  EXPECT_EQ(index, kCases);
  std::cout << "[croniter] cases=" << kCases << " compared=" << compared << " both_rejected=" << both_rejected
            << " same_as_croniter=" << croniter_same << " croniter_differs_across_dst=" << croniter_dst_differs
            << " croniter_raised=" << croniter_failed << "\n";
  // The generator must actually exercise DST windows and agreement.
  EXPECT_GT(compared, kCases * 9 / 10);
  EXPECT_GT(croniter_same, compared / 2);
}

}  // namespace
}  // namespace clawback::controller
