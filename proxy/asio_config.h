// Standalone Asio with C++20 coroutines. clang 14 has coroutines but Asio
// 1.22 does not detect them with libstdc++; the build says so explicitly.
#ifndef REFLEX_PROXY_ASIO_CONFIG_H_
#define REFLEX_PROXY_ASIO_CONFIG_H_

#ifndef ASIO_HAS_CO_AWAIT
#define ASIO_HAS_CO_AWAIT 1
#endif
#ifndef ASIO_HAS_STD_COROUTINE
#define ASIO_HAS_STD_COROUTINE 1
#endif
#ifndef ASIO_NO_DEPRECATED
#define ASIO_NO_DEPRECATED 1
#endif

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/experimental/channel.hpp>

namespace reflex::proxy {

using asio::awaitable;
inline constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_ASIO_CONFIG_H_
