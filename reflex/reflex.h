// The Reflex library in one include, listed in the order of SPEC.md.
#ifndef REFLEX_REFLEX_H_
#define REFLEX_REFLEX_H_

// 1. Constants, 7. error codes.
#include "reflex/error.h"
#include "reflex/wire.h"
// 3. Hellos (v1-compat), in caller memory and pooled.
#include "reflex/handshake_pool.h"
#include "reflex/hello.h"
// 4. Key schedule: X25519, HKDF-SHA256, secrets that wipe themselves.
#include "reflex/crypto_init.h"
#include "reflex/hkdf.h"
#include "reflex/key_schedule.h"
#include "reflex/secret.h"
// 5. Frames: the AEAD seam, nonces, the length field, sealing and opening
// in caller memory, then the pooled conveniences.
#include "reflex/aead.h"
#include "reflex/frame_cipher.h"
#include "reflex/frame_header.h"
#include "reflex/frame_nonce.h"
#include "reflex/frame_opener.h"
#include "reflex/frame_sealer.h"
#include "reflex/frame_decoder.h"
#include "reflex/pooled_frames.h"
// 6. Request header.
#include "reflex/request_header.h"
#include "reflex/datagram.h"
// 11. Profile v2: Noise NNpsk0 and its hellos.
#include "reflex/hello_v2.h"
#include "reflex/noise.h"
// 12, 13. The server's decision, sessions, traffic morphing.
#include "reflex/client_session.h"
#include "reflex/frame_channel.h"
#include "reflex/morph.h"
#include "reflex/random.h"
#include "reflex/replay_filter.h"
#include "reflex/server_session.h"
#include "reflex/session_types.h"
// Bounded readers and writers used by every decoder and encoder above.
#include "reflex/byte_reader.h"
#include "reflex/byte_writer.h"

#endif  // REFLEX_REFLEX_H_
