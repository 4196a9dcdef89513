#include "proxy/close_reason.h"

namespace reflex::proxy {

std::string_view CloseReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kDone: return "done";
    case CloseReason::kTimeout: return "timeout";
    case CloseReason::kReadFailed: return "read_failed";
    case CloseReason::kWriteFailed: return "write_failed";
    case CloseReason::kOutOfMemory: return "out_of_memory";
    case CloseReason::kSessionError: return "session_error";
    case CloseReason::kTunnelCut: return "tunnel_cut";
    case CloseReason::kRelayFailed: return "relay_failed";
    case CloseReason::kClosedBeforeRequest: return "closed_before_request";
    case CloseReason::kEndedInHandshake: return "ended_in_handshake";
    case CloseReason::kCommandNotSupported: return "command_not_supported";
    case CloseReason::kTargetUnreachable: return "target_unreachable";
    case CloseReason::kTargetNotAllowed: return "target_not_allowed";
    case CloseReason::kTargetWriteFailed: return "target_write_failed";
    case CloseReason::kFallbackDone: return "fallback_done";
    case CloseReason::kFallbackUnreachable: return "fallback_unreachable";
    case CloseReason::kFallbackWriteFailed: return "fallback_write_failed";
    case CloseReason::kFallbackFailed: return "fallback_failed";
    case CloseReason::kUserRemoved: return "user_removed";
    case CloseReason::kLocalRequestRefused: return "local_request_refused";
    case CloseReason::kLocalAuthFailed: return "local_auth_failed";
    case CloseReason::kLocalClosedEarly: return "local_closed_early";
    case CloseReason::kServerUnreachable: return "server_unreachable";
    case CloseReason::kServerFailed: return "server_failed";
    case CloseReason::kTargetRefused: return "target_refused";
    case CloseReason::kEarlyDataFailed: return "early_data_failed";
    case CloseReason::kUdpNotAllowed: return "udp_not_allowed";
    case CloseReason::kUdpSocketFailed: return "udp_socket_failed";
  }
  return "unknown";
}

}  // namespace reflex::proxy
