// Reading passwords for the CLI (stdin, environment or a no-echo prompt on the
// terminal) and changing the signed-in user's own password, shared by
// `clawback password` and `clawback user passwd` (commands.h states the
// contracts).
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <iostream>

#include "controller/cli/commands.h"

namespace clawback::controller::cli {

Result<std::string> ReadSecret(CommandContext& ctx, bool from_stdin, const std::string& env_name,
                               const std::string& prompt) {
  std::string secret;
  if (from_stdin) {
    if (!std::getline(std::cin, secret)) return Status::InvalidArgument("no " + prompt + " on stdin");
  } else if (auto value = ctx.env().get(env_name); value && !value->empty()) {
    secret = *value;
  } else if (::isatty(STDIN_FILENO) == 1) {
    std::FILE* tty = std::fopen("/dev/tty", "r+");
    if (!tty) return Status::InvalidArgument("cannot open the terminal to ask for the " + prompt);
    int fd = ::fileno(tty);
    termios saved{};
    bool restore = ::tcgetattr(fd, &saved) == 0;
    if (restore) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    std::fprintf(tty, "%c%s: ", std::toupper(static_cast<unsigned char>(prompt[0])), prompt.c_str() + 1);
    std::fflush(tty);
    char buf[1024];
    bool got = std::fgets(buf, sizeof(buf), tty) != nullptr;
    if (restore) ::tcsetattr(fd, TCSAFLUSH, &saved);
    std::fprintf(tty, "\n");
    std::fclose(tty);
    if (!got) return Status::InvalidArgument("no " + prompt + " given");
    secret = buf;
  } else {
    return Status::InvalidArgument("no " + prompt + ": use --password-stdin or set " + env_name);
  }
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return Status::InvalidArgument("the " + prompt + " is empty");
  return secret;
}

Result<std::string> PasswordFromOptions(CommandContext& ctx, const std::string& given, bool from_stdin,
                                        const std::string& prompt) {
  if (!given.empty()) return given;
  return ReadSecret(ctx, from_stdin, "CLAWBACK_PASSWORD", prompt);
}

Status ChangeOwnPassword(CommandContext& ctx, bool from_stdin) {
  auto current = ReadSecret(ctx, from_stdin, "CLAWBACK_PASSWORD", "current password");
  if (!current.ok()) return current.status();
  auto fresh = ReadSecret(ctx, from_stdin, "CLAWBACK_NEW_PASSWORD", "new password");
  if (!fresh.ok()) return fresh.status();
  // Typed at a prompt: ask again, so a typo does not lock the user out.
  if (!from_stdin && ::isatty(STDIN_FILENO) == 1 && !ctx.env().get("CLAWBACK_NEW_PASSWORD")) {
    auto again = ReadSecret(ctx, false, "CLAWBACK_NEW_PASSWORD_UNUSED", "new password again");
    if (!again.ok()) return again.status();
    if (*again != *fresh) return Status::InvalidArgument("the new passwords do not match");
  }
  auto api = ctx.Api();
  if (!api.ok()) return api.status();
  Json body = {{"current_password", *current}, {"new_password", *fresh}};
  return (*api)->Put("/auth/password", body).status();
}

}  // namespace clawback::controller::cli
