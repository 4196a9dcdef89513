// Runs a connection handler one phase at a time (ServerConnection::Step,
// ClientConnection::Step), so a test can say what each phase does with
// its input and which phase it hands over to. Nothing waits for time:
// Run() polls the io_context until the phase returns or waits for input.
#ifndef REFLEX_PROXY_TESTING_PHASE_DRIVER_H_
#define REFLEX_PROXY_TESTING_PHASE_DRIVER_H_

#include <optional>

#include "proxy/asio_config.h"

namespace reflex::proxy::testing {

template <class Connection, class Phase>
class PhaseDriver {
 public:
  PhaseDriver(asio::io_context& io, Connection& connection) : io_(io), connection_(connection) {}

  // Starts `phase`: the next phase once it returned, or nullopt while it
  // waits for input (then call Poll() after sending some).
  std::optional<Phase> Run(Phase phase) {
    next_.reset();
    asio::co_spawn(io_, Step(&connection_, phase, &next_), asio::detached);
    return Poll();
  }
  std::optional<Phase> Poll() {
    io_.restart();
    io_.poll();
    return next_;
  }

 private:
  static awaitable<void> Step(Connection* connection, Phase phase, std::optional<Phase>* next) {
    *next = co_await connection->Step(phase);
  }

  asio::io_context& io_;
  Connection& connection_;
  std::optional<Phase> next_;
};

}  // namespace reflex::proxy::testing

#endif  // REFLEX_PROXY_TESTING_PHASE_DRIVER_H_
