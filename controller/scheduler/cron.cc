#include "controller/scheduler/cron.h"

#include <array>
#include <charconv>
#include <optional>
#include <vector>

namespace clawback::controller {
namespace {

struct FieldSpec {
  const char* name;
  int min;
  int max;  // inclusive; day-of-week allows 7 (folded onto 0 afterwards)
  const std::array<std::string_view, 13>* names;  // index = value; nullptr if none
  int names_base;                                 // value of names[0]
};

constexpr std::array<std::string_view, 13> kMonthNames = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", ""};
constexpr std::array<std::string_view, 13> kDayNames = {"sun", "mon", "tue", "wed", "thu", "fri", "sat",
                                                        "",    "",    "",    "",    "",    ""};

constexpr FieldSpec kFields[5] = {
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, &kMonthNames, 1},
    {"day-of-week", 0, 7, &kDayNames, 0},
};

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

// One value: a number or (month/day-of-week) a three-letter name.
Result<int> ParseValue(const FieldSpec& spec, std::string_view token) {
  if (token.empty()) {
    return Status::InvalidArgument(std::string("cron: ") + spec.name + " has an empty value");
  }
  if (token[0] >= '0' && token[0] <= '9') {
    int value = 0;
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ec == std::errc::result_out_of_range) {
      return Status::InvalidArgument(std::string("cron: ") + spec.name + " value " + std::string(token) +
                                     " out of range " + std::to_string(spec.min) + "-" +
                                     std::to_string(spec.max));
    }
    if (ec != std::errc() || ptr != token.data() + token.size()) {
      return Status::InvalidArgument(std::string("cron: ") + spec.name + " value '" + std::string(token) +
                                     "' is not a number");
    }
    if (value < spec.min || value > spec.max) {
      return Status::InvalidArgument(std::string("cron: ") + spec.name + " value " + std::to_string(value) +
                                     " out of range " + std::to_string(spec.min) + "-" +
                                     std::to_string(spec.max));
    }
    return value;
  }
  if (spec.names != nullptr) {
    std::string lower = ToLower(token);
    for (size_t i = 0; i < spec.names->size(); ++i) {
      if (!(*spec.names)[i].empty() && (*spec.names)[i] == lower) return static_cast<int>(i) + spec.names_base;
    }
    return Status::InvalidArgument(std::string("cron: ") + spec.name + " value '" + std::string(token) +
                                   "' is not a number or a known name");
  }
  return Status::InvalidArgument(std::string("cron: ") + spec.name + " value '" + std::string(token) +
                                 "' is not a number");
}

// Parses one field into a list of selected values (before folding dow 7 -> 0).
Result<std::vector<bool>> ParseField(const FieldSpec& spec, std::string_view field) {
  std::vector<bool> selected(spec.max + 1, false);
  size_t start = 0;
  while (true) {
    size_t comma = field.find(',', start);
    std::string_view item = field.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                                 : comma - start);
    if (item.empty()) {
      return Status::InvalidArgument(std::string("cron: ") + spec.name + " field '" + std::string(field) +
                                     "' has an empty list item");
    }
    std::string_view base = item;
    std::optional<int> step;
    if (size_t slash = item.find('/'); slash != std::string_view::npos) {
      base = item.substr(0, slash);
      std::string_view step_text = item.substr(slash + 1);
      int value = 0;
      auto [ptr, ec] = std::from_chars(step_text.data(), step_text.data() + step_text.size(), value);
      if (step_text.empty() || ec != std::errc() || ptr != step_text.data() + step_text.size()) {
        return Status::InvalidArgument(std::string("cron: ") + spec.name + " step '" + std::string(step_text) +
                                       "' is not a number");
      }
      if (value < 1 || value > spec.max - spec.min + 1) {
        return Status::InvalidArgument(std::string("cron: ") + spec.name + " step " + std::to_string(value) +
                                       " out of range 1-" + std::to_string(spec.max - spec.min + 1));
      }
      step = value;
    }
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = spec.min;
      hi = spec.max;
    } else if (size_t dash = base.find('-'); dash != std::string_view::npos) {
      auto a = ParseValue(spec, base.substr(0, dash));
      if (!a.ok()) return a.status();
      auto b = ParseValue(spec, base.substr(dash + 1));
      if (!b.ok()) return b.status();
      lo = *a;
      hi = *b;
      if (lo > hi) {
        return Status::InvalidArgument(std::string("cron: ") + spec.name + " range " + std::string(base) +
                                       " starts after it ends");
      }
    } else {
      auto a = ParseValue(spec, base);
      if (!a.ok()) return a.status();
      lo = *a;
      hi = step ? spec.max : lo;  // "5/10" means 5 through the maximum, every 10
    }
    for (int v = lo; v <= hi; v += step.value_or(1)) selected[v] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return selected;
}

std::vector<std::string_view> SplitFields(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i >= text.size()) break;
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
    out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<std::string_view> ExpandMacro(std::string_view lower) {
  if (lower == "@yearly" || lower == "@annually") return "0 0 1 1 *";
  if (lower == "@monthly") return "0 0 1 * *";
  if (lower == "@weekly") return "0 0 * * 0";
  if (lower == "@daily" || lower == "@midnight") return "0 0 * * *";
  if (lower == "@hourly") return "0 * * * *";
  return std::nullopt;
}

constexpr unsigned kMaxDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

bool CronExpr::MatchesDay(unsigned day_of_month, unsigned month, unsigned weekday) const {
  if (!months.test(month)) return false;
  bool dom = days_of_month.test(day_of_month);
  bool dow = days_of_week.test(weekday);
  if (dom_restricted && dow_restricted) return dom || dow;
  return dom && dow;
}

Result<CronExpr> ParseCron(std::string_view text) {
  if (text.size() > kMaxCronLength) {
    return Status::InvalidArgument("cron: expression longer than " + std::to_string(kMaxCronLength) +
                                   " characters");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
      return Status::InvalidArgument("cron: expression contains a control character");
    }
  }
  std::vector<std::string_view> fields = SplitFields(text);
  std::string lower_macro;
  if (fields.size() == 1 && !fields[0].empty() && fields[0][0] == '@') {
    lower_macro = ToLower(fields[0]);
    auto expanded = ExpandMacro(lower_macro);
    if (!expanded) return Status::InvalidArgument("cron: unknown macro " + std::string(fields[0]));
    fields = SplitFields(*expanded);
  }
  if (fields.size() != 5) {
    return Status::InvalidArgument("cron: expected 5 fields, got " + std::to_string(fields.size()));
  }
  std::vector<bool> sets[5];
  for (int i = 0; i < 5; ++i) {
    auto parsed = ParseField(kFields[i], fields[i]);
    if (!parsed.ok()) return parsed.status();
    sets[i] = std::move(*parsed);
  }
  CronExpr cron;
  for (int v = 0; v < 60; ++v) cron.minutes[v] = sets[0][v];
  for (int v = 0; v < 24; ++v) cron.hours[v] = sets[1][v];
  for (int v = 1; v <= 31; ++v) cron.days_of_month[v] = sets[2][v];
  for (int v = 1; v <= 12; ++v) cron.months[v] = sets[3][v];
  for (int v = 0; v <= 6; ++v) cron.days_of_week[v] = sets[4][v];
  if (sets[4][7]) cron.days_of_week[0] = true;  // 7 is Sunday too
  cron.dom_restricted = cron.days_of_month.count() != 31;
  cron.dow_restricted = cron.days_of_week.count() != 7;

  // With only day-of-month restricted, some selected month must be long
  // enough for some selected day (February counts 29: leap years exist).
  if (cron.dom_restricted && !cron.dow_restricted) {
    int first_day = 1;
    while (!cron.days_of_month.test(first_day)) ++first_day;
    bool possible = false;
    for (unsigned m = 1; m <= 12; ++m) {
      if (cron.months.test(m) && static_cast<unsigned>(first_day) <= kMaxDaysInMonth[m]) possible = true;
    }
    if (!possible) {
      return Status::InvalidArgument("cron: expression never fires: the selected months have no day " +
                                     std::to_string(first_day));
    }
  }
  return cron;
}

// ---------------------------------------------------------------------------
// Description.

namespace {

constexpr std::string_view kDayTitles[7] = {"Sunday", "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};
constexpr std::string_view kMonthTitles[13] = {"",     "January", "February", "March",
                                               "April", "May",     "June",     "July",
                                               "August", "September", "October", "November",
                                               "December"};

std::string Ordinal(int n) {
  int mod100 = n % 100;
  const char* suffix = "th";
  if (mod100 < 11 || mod100 > 13) {
    switch (n % 10) {
      case 1: suffix = "st"; break;
      case 2: suffix = "nd"; break;
      case 3: suffix = "rd"; break;
      default: break;
    }
  }
  return std::to_string(n) + suffix;
}

std::string TwoDigits(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

template <size_t N>
std::vector<int> Values(const std::bitset<N>& bits, int lo, int hi) {
  std::vector<int> out;
  for (int v = lo; v <= hi; ++v) {
    if (bits.test(v)) out.push_back(v);
  }
  return out;
}

// "every 6th" when the values are lo, lo+k, ... covering the range with k>1.
std::optional<int> StepFromStart(const std::vector<int>& values, int lo, int hi) {
  if (values.size() < 2 || values[0] != lo) return std::nullopt;
  int k = values[1] - values[0];
  if (k < 2) return std::nullopt;
  for (size_t i = 1; i < values.size(); ++i) {
    if (values[i] - values[i - 1] != k) return std::nullopt;
  }
  if (values.back() + k <= hi) return std::nullopt;
  return k;
}

// "1, 5 and 9" with runs of 3+ written "1 through 5".
std::string JoinValues(const std::vector<int>& values, const auto& name) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < values.size();) {
    size_t j = i;
    while (j + 1 < values.size() && values[j + 1] == values[j] + 1) ++j;
    if (j - i >= 2) {
      parts.push_back(name(values[i]) + " through " + name(values[j]));
      i = j + 1;
    } else {
      parts.push_back(name(values[i]));
      ++i;
    }
  }
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += (i + 1 == parts.size()) ? " and " : ", ";
    out += parts[i];
  }
  return out;
}

}  // namespace

std::string DescribeCronExpr(const CronExpr& cron) {
  auto number = [](int v) { return std::to_string(v); };
  std::vector<int> minutes = Values(cron.minutes, 0, 59);
  std::vector<int> hours = Values(cron.hours, 0, 23);
  bool all_minutes = minutes.size() == 60;
  bool all_hours = hours.size() == 24;

  std::string out;
  bool clock_times = false;
  if (!all_minutes && !all_hours && minutes.size() * hours.size() <= 4 && !StepFromStart(hours, 0, 23)) {
    // A handful of clock times: "At 02:00 and 14:30".
    std::vector<std::string> times;
    for (int h : hours) {
      for (int m : minutes) times.push_back(TwoDigits(h) + ":" + TwoDigits(m));
    }
    out = "At ";
    for (size_t i = 0; i < times.size(); ++i) {
      if (i > 0) out += (i + 1 == times.size()) ? " and " : ", ";
      out += times[i];
    }
    clock_times = true;
  } else {
    if (all_minutes) {
      out = "Every minute";
    } else if (auto k = StepFromStart(minutes, 0, 59)) {
      out = "Every " + std::to_string(*k) + " minutes";
    } else if (minutes.size() == 1) {
      out = "At minute " + number(minutes[0]);
    } else {
      out = "At minutes " + JoinValues(minutes, number);
    }
    if (!all_hours) {
      // "At minute 0 past hour 3", but "Every 15 minutes during hour 3".
      std::string link = out.rfind("Every", 0) == 0 ? " during " : " past ";
      if (auto k = StepFromStart(hours, 0, 23)) {
        out += link + "every " + Ordinal(*k) + " hour";
      } else if (hours.size() == 1) {
        out += link + "hour " + number(hours[0]);
      } else {
        out += link + "hours " + JoinValues(hours, number);
      }
    }
  }

  std::string dom_text;
  if (cron.dom_restricted) {
    std::vector<int> days = Values(cron.days_of_month, 1, 31);
    if (auto k = StepFromStart(days, 1, 31)) {
      dom_text = "every " + Ordinal(*k) + " day of the month";
    } else {
      dom_text = std::string(days.size() == 1 ? "day " : "days ") + JoinValues(days, number) + " of the month";
    }
  }
  std::string dow_text;
  if (cron.dow_restricted) {
    dow_text = JoinValues(Values(cron.days_of_week, 0, 6), [](int d) { return std::string(kDayTitles[d]); });
  }
  if (cron.dom_restricted && cron.dow_restricted) {
    out += " on " + dom_text + " or on " + dow_text;
  } else if (cron.dom_restricted) {
    out += " on " + dom_text;
  } else if (cron.dow_restricted) {
    out += " on " + dow_text;
  } else if (clock_times) {
    out += " every day";
  }
  if (cron.months.count() != 12) {
    out += " in " +
           JoinValues(Values(cron.months, 1, 12), [](int m) { return std::string(kMonthTitles[m]); });
  }
  return out;
}

}  // namespace clawback::controller
