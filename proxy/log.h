// Logging: one line per message on stderr, written whole (a single write),
// with a level, the time and the thread. Levels: error, warn, info, debug.
#ifndef REFLEX_PROXY_LOG_H_
#define REFLEX_PROXY_LOG_H_

#include <cstdarg>
#include <string_view>

namespace reflex::proxy {

enum class LogLevel : int { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };

[[nodiscard]] bool LogLevelFromName(std::string_view name, LogLevel* out);
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace reflex::proxy

#define REFLEX_LOG(level, ...)                                                  \
  do {                                                                          \
    if (::reflex::proxy::LogEnabled(::reflex::proxy::LogLevel::level)) {        \
      ::reflex::proxy::Log(::reflex::proxy::LogLevel::level, __VA_ARGS__);      \
    }                                                                           \
  } while (0)

#endif  // REFLEX_PROXY_LOG_H_
