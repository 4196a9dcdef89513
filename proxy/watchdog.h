// Deadlines for connections without a timer each: every thread has one
// Sweeper, which wakes every 250 ms (only while some connection is being
// watched) and checks each registered Watchdog. A Watchdog ends its
// connection when a deadline passes (the hello wait, a handshake) or when
// no byte moved for the idle timeout, by calling the connection's cancel
// function: every pending operation of the handler then ends with
// operation_aborted and the handler unwinds. It also bounds a connect in
// progress (ArmConnect), without ending the connection.
//
// Why not a steady_timer per connection: each timer change is a system
// call (timerfd_settime) and a timer per idle tunnel costs memory; tunnels
// come and go by the thousand, and a quarter-second precision is plenty
// for timeouts measured in seconds.
#ifndef REFLEX_PROXY_WATCHDOG_H_
#define REFLEX_PROXY_WATCHDOG_H_

#include <chrono>
#include <functional>

#include "proxy/asio_config.h"

namespace reflex::proxy {

class Watchdog;

class Sweeper {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kTick{250};

  explicit Sweeper(asio::any_io_executor executor) : timer_(executor) {}
  // Watchdogs may outlive the sweeper (coroutine frames destroyed with
  // their io_context at exit): they are let go, not left pointing here.
  ~Sweeper();
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // The time of the last sweep (or of the last registration): what
  // Watchdog::Touch records, without reading the clock per I/O.
  Clock::time_point now() const { return now_; }
  size_t watched() const { return count_; }

 private:
  friend class Watchdog;
  void Add(Watchdog* w);
  void Remove(Watchdog* w);
  awaitable<void> Run();
  void Sweep();

  asio::steady_timer timer_;
  Watchdog* head_ = nullptr;
  size_t count_ = 0;
  bool running_ = false;
  Clock::time_point now_ = Clock::now();
};

class Watchdog {
 public:
  using Clock = Sweeper::Clock;

  Watchdog(Sweeper& sweeper, std::function<void()> cancel)
      : sweeper_(&sweeper), cancel_(std::move(cancel)) {}
  ~Watchdog() { Stop(); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // Starts watching: an absolute deadline (none: time_point::max()) and an
  // idle limit (each Touch() restarts it).
  void Start(Clock::time_point deadline, Clock::duration idle) {
    deadline_ = deadline;
    idle_ = idle;
    last_activity_ = Clock::now();
    if (!registered_ && sweeper_ != nullptr) sweeper_->Add(this);
  }
  void SetDeadline(Clock::time_point deadline) { deadline_ = deadline; }
  // Watching again after an expiry (the hello wait passed and the
  // connection goes on to the fallback): a new deadline, the idle limit
  // from now.
  void Rearm(Clock::time_point deadline) { Rearm(deadline, idle_); }
  // The same with another idle limit (max: none).
  void Rearm(Clock::time_point deadline, Clock::duration idle) {
    expired_ = false;
    reason_ = "";
    Start(deadline, idle);
  }
  Clock::time_point deadline() const { return deadline_; }
  void Touch() {
    if (sweeper_ != nullptr) last_activity_ = sweeper_->now();
  }
  // Stops watching (idempotent); the connection is no longer cancelled.
  void Stop() {
    if (registered_ && sweeper_ != nullptr) sweeper_->Remove(this);
    registered_ = false;
  }
  // Ends the connection at the first sweep where `revoked` returns true
  // (reason "revoked"): a user a reload removed, say.
  void SetRevocation(std::function<bool()> revoked) { revoked_ = std::move(revoked); }
  bool expired() const { return expired_; }
  bool revoked() const { return revoked_expired_; }
  // What expired: "deadline", "idle" or "revoked".
  const char* reason() const { return reason_; }

  // A connect in progress: `cancel` runs if `deadline` passes first.
  // Disarm says whether it did.
  void ArmConnect(Clock::time_point deadline, std::function<void()> cancel) {
    connect_deadline_ = deadline;
    connect_cancel_ = std::move(cancel);
    connect_timed_out_ = false;
  }
  bool DisarmConnect() {
    connect_cancel_ = nullptr;
    return connect_timed_out_;
  }
  // Abandons the connect in progress, if any, now: it ends with an error
  // (not a timeout), as it would have at its deadline.
  void CancelConnect() {
    if (!connect_cancel_) return;
    auto cancel = std::move(connect_cancel_);
    connect_cancel_ = nullptr;
    cancel();
  }

 private:
  friend class Sweeper;
  // One sweep's check at `now`.
  void Check(Clock::time_point now) {
    if (connect_cancel_ && now >= connect_deadline_) {
      connect_timed_out_ = true;
      auto cancel = std::move(connect_cancel_);
      connect_cancel_ = nullptr;
      cancel();
    }
    if (expired_) return;
    const bool deadline = now >= deadline_;
    if (deadline || now - last_activity_ >= idle_) {
      expired_ = true;
      reason_ = deadline ? "deadline" : "idle";
      cancel_();
    } else if (revoked_ && revoked_()) {
      expired_ = revoked_expired_ = true;
      reason_ = "revoked";
      cancel_();
    }
  }

  Sweeper* sweeper_;  // null once the sweeper is gone
  std::function<void()> cancel_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::duration idle_ = Clock::duration::max();
  Clock::time_point last_activity_;
  bool registered_ = false;
  bool expired_ = false;
  bool revoked_expired_ = false;
  std::function<bool()> revoked_;
  const char* reason_ = "";
  Clock::time_point connect_deadline_ = Clock::time_point::max();
  std::function<void()> connect_cancel_;
  bool connect_timed_out_ = false;
  Watchdog* prev_ = nullptr;
  Watchdog* next_ = nullptr;
};

inline void Sweeper::Add(Watchdog* w) {
  w->registered_ = true;
  w->prev_ = nullptr;
  w->next_ = head_;
  if (head_ != nullptr) head_->prev_ = w;
  head_ = w;
  ++count_;
  now_ = Clock::now();
  if (!running_) {
    running_ = true;
    asio::co_spawn(timer_.get_executor(), Run(), asio::detached);
  }
}

inline void Sweeper::Remove(Watchdog* w) {
  if (w->prev_ != nullptr) w->prev_->next_ = w->next_;
  else head_ = w->next_;
  if (w->next_ != nullptr) w->next_->prev_ = w->prev_;
  w->prev_ = w->next_ = nullptr;
  w->registered_ = false;
  --count_;
}

inline Sweeper::~Sweeper() {
  while (head_ != nullptr) {
    Watchdog* w = head_;
    Remove(w);
    w->sweeper_ = nullptr;
  }
}

inline void Sweeper::Sweep() {
  now_ = Clock::now();
  // Cancelling only cancels operations (their handlers run later), so no
  // watchdog leaves the list during the walk.
  for (Watchdog* w = head_; w != nullptr; w = w->next_) w->Check(now_);
}

inline awaitable<void> Sweeper::Run() {
  while (head_ != nullptr) {
    timer_.expires_after(kTick);
    auto [ec] = co_await timer_.async_wait(kUseTuple);
    if (ec == asio::error::operation_aborted) break;
    Sweep();
  }
  running_ = false;
}

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_WATCHDOG_H_
