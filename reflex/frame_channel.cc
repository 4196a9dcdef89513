#include "reflex/frame_channel.h"

#include <algorithm>
#include <cstring>

namespace reflex {

FrameChannel::FrameChannel(const ChannelKeys& keys, Side side)
    : sealer_(keys.send_key, keys.options),
      opener_(keys.receive_key, keys.options),
      side_(side) {
  // A sealer that cannot be keyed makes the channel fail on first use.
  if (sealer_.error() != Error::kOk) (void)opener_.Fail(sealer_.error());
}

void FrameChannel::Receive(std::span<uint8_t> input, size_t* consumed, SessionEvent* event) {
  size_t used = 0;
  *event = SessionEvent{};
  while (true) {
    if (opener_.error() != Error::kOk) {
      event->kind = SessionEventKind::kError;
      event->reason = opener_.error();
      break;
    }
    size_t n = 0;
    OpenedFrame frame;
    if (opener_.OpenNext(input.subspan(used), &n, &frame) != Error::kOk) continue;
    if (n == 0) break;  // more bytes needed
    used += n;
    if (peer_closed_) {
      (void)opener_.Fail(Error::kFrameAfterClose);
      continue;
    }
    switch (frame.type) {
      case FrameType::kPadding:
      case FrameType::kTiming:
        continue;  // shaping only: never delivered
      case FrameType::kClose:
        peer_closed_ = true;
        event->kind = SessionEventKind::kPeerClosed;
        // A code only as exactly one byte (SPEC.md 13.4); 0 otherwise.
        event->close_code = frame.payload.size() == 1 ? frame.payload[0] : 0;
        break;
      case FrameType::kData:
        if (side_ == Side::kClient && !connect_result_seen_) {
          // The server's first DATA frame: empty, it is the connect result;
          // with data (a server that sends no result, like the Go one), the
          // target is evidently connected too.
          connect_result_seen_ = true;
          if (frame.payload.empty()) {
            event->kind = SessionEventKind::kTargetConnected;
            break;
          }
        }
        if (side_ == Side::kServer && !request_seen_) {
          size_t header_bytes = 0;
          if (const Error e = DecodeRequestHeader(frame.payload, &event->request, &header_bytes);
              e != Error::kOk) {
            (void)opener_.Fail(e);
            continue;
          }
          request_seen_ = true;
          event->kind = SessionEventKind::kRequest;
          event->data = frame.payload.subspan(header_bytes);
          break;
        }
        if (frame.payload.empty()) continue;
        event->kind = SessionEventKind::kData;
        event->data = frame.payload;
        break;
    }
    break;
  }
  *consumed = used;
}

Error FrameChannel::Seal(FrameType type, std::span<const uint8_t> payload,
                         std::span<uint8_t> out, size_t* written) {
  if (closed_) return Error::kClosed;
  return sealer_.SealInto(type, payload, out, written);
}

Error FrameChannel::SealRequest(const RequestHeader& request, std::span<const uint8_t> data,
                                std::span<uint8_t> out, size_t* written) {
  if (closed_) return Error::kClosed;
  size_t header_size = 0;
  if (const Error e = EncodedRequestHeaderSize(request, &header_size); e != Error::kOk) return e;
  const size_t payload_size = header_size + data.size();
  if (payload_size > kMaxPayloadBytes) return Error::kFrameTooLarge;
  if (out.size() < kFrameOverheadBytes + payload_size) return Error::kBufferTooSmall;
  // Header and data go straight into the payload slot, sealed in place.
  std::span<uint8_t> slot = out.subspan(kFramePayloadOffset, payload_size);
  size_t n = 0;
  if (const Error e = EncodeRequestHeader(request, slot, &n); e != Error::kOk) return e;
  if (!data.empty()) std::memmove(slot.data() + header_size, data.data(), data.size());
  return sealer_.SealInto(FrameType::kData, slot, out, written);
}

Error FrameChannel::SealClose(std::span<uint8_t> out, size_t* written, uint8_t code) {
  if (closed_) return Error::kClosed;
  const uint8_t payload[1] = {code};
  if (const Error e = sealer_.SealInto(FrameType::kClose,
                                       std::span<const uint8_t>(payload, code != 0 ? 1 : 0), out,
                                       written);
      e != Error::kOk) {
    return e;
  }
  closed_ = true;
  return Error::kOk;
}

Error FrameChannel::SealConnectResult(uint8_t code, std::span<uint8_t> out, size_t* written) {
  if (code == kConnectOk) return Seal(FrameType::kData, {}, out, written);
  return SealClose(out, written, code);
}

Error FrameChannel::SealShaped(Shaper& shaper, int64_t now_ms, std::span<const uint8_t> data,
                               std::span<uint8_t> out, ShapedOutput* result) {
  if (closed_) return Error::kClosed;
  if (data.empty()) return Error::kInvalidArgument;
  if (out.size() < kMaxMorphSlotBytes) return Error::kBufferTooSmall;
  const MorphSlot slot = shaper.Next(now_ms);
  // Exactly slot.wire_bytes: DATA alone when the data fills it; else DATA
  // and a PADDING frame (19 bytes of overhead each) for the rest.
  const size_t alone = slot.wire_bytes - kFrameOverheadBytes;
  const size_t with_padding = slot.wire_bytes - 2 * kFrameOverheadBytes;
  const size_t take = data.size() >= alone ? alone : std::min(data.size(), with_padding);
  size_t n = 0;
  if (const Error e = sealer_.SealInto(FrameType::kData, data.first(take), out, &n);
      e != Error::kOk) {
    return e;
  }
  size_t total = n;
  if (total < slot.wire_bytes) {
    const size_t padding = slot.wire_bytes - total - kFrameOverheadBytes;
    std::span<uint8_t> rest = out.subspan(total);
    std::memset(rest.data() + kFramePayloadOffset, 0, padding);
    size_t m = 0;
    if (const Error e = sealer_.SealInto(FrameType::kPadding, rest.subspan(kFramePayloadOffset, padding),
                                         rest, &m);
        e != Error::kOk) {
      return e;
    }
    total += m;
  }
  *result = {take, total, slot.send_at_ms};
  return Error::kOk;
}

}  // namespace reflex
