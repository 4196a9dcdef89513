// Watchdog: one timer per connection that ends it when a deadline passes
// (the hello wait, a handshake) or when no byte moved for the idle timeout.
// It calls the connection's cancel function, so every pending operation of
// the handler ends with operation_aborted and the handler unwinds.
#ifndef REFLEX_PROXY_WATCHDOG_H_
#define REFLEX_PROXY_WATCHDOG_H_

#include <chrono>
#include <functional>
#include <memory>

#include "proxy/asio_config.h"

namespace reflex::proxy {

class Watchdog : public std::enable_shared_from_this<Watchdog> {
 public:
  using Clock = std::chrono::steady_clock;

  Watchdog(asio::any_io_executor executor, std::function<void()> cancel)
      : timer_(executor), cancel_(std::move(cancel)) {}

  // Starts watching: an absolute deadline (none: time_point::max()) and an
  // idle limit (each Touch() restarts it).
  void Start(Clock::time_point deadline, Clock::duration idle) {
    deadline_ = deadline;
    idle_ = idle;
    last_activity_ = Clock::now();
    asio::co_spawn(timer_.get_executor(), Run(shared_from_this()), asio::detached);
  }
  void SetDeadline(Clock::time_point deadline) {
    deadline_ = deadline;
    timer_.cancel();  // re-evaluate at once
  }
  void Touch() { last_activity_ = Clock::now(); }
  void Stop() {
    stopped_ = true;
    timer_.cancel();
  }
  bool expired() const { return expired_; }
  // What expired: "deadline" or "idle".
  const char* reason() const { return reason_; }

 private:
  static awaitable<void> Run(std::shared_ptr<Watchdog> self) {
    while (!self->stopped_) {
      const Clock::time_point idle_end = self->last_activity_ + self->idle_;
      const Clock::time_point next = std::min(self->deadline_, idle_end);
      if (Clock::now() >= next) {
        self->expired_ = true;
        self->reason_ = Clock::now() >= self->deadline_ ? "deadline" : "idle";
        self->cancel_();
        co_return;
      }
      self->timer_.expires_at(next);
      auto [ec] = co_await self->timer_.async_wait(kUseTuple);
      (void)ec;  // cancelled: re-evaluate (or stop)
    }
  }

  asio::steady_timer timer_;
  std::function<void()> cancel_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::duration idle_{};
  Clock::time_point last_activity_;
  bool stopped_ = false;
  bool expired_ = false;
  const char* reason_ = "";
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_WATCHDOG_H_
