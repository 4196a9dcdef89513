package vectors

import (
	"bytes"
	"fmt"
	"time"

	"github.com/flynn/noise"

	"reflexport/decide"
	"reflexport/dh"
	"reflexport/frame"
	"reflexport/replay"
	"reflexport/v2"
)

func v2Kinds() map[string]kind {
	return map[string]kind{
		"client_handshake": {fields{
			"encoded":        hexF(-1, always),
			"user_id":        hexF(16, always),
			"client_private": hexF(32, inValid),
			"timestamp":      i64F(inValid),
			"nonce":          hexF(16, inValid),
			"reserved":       hexF(4, optional),
		}, v2ClientHandshake},
		"server_handshake": {fields{
			"encoded":        hexF(-1, always),
			"user_id":        hexF(16, always),
			"client_private": hexF(32, always),
			"timestamp":      i64F(always),
			"nonce":          hexF(16, always),
			"server_private": hexF(32, inValid),
		}, v2ServerHandshake},
		"key_schedule": {fields{
			"user_id":        hexF(16, always),
			"timestamp":      i64F(always),
			"nonce":          hexF(16, always),
			"psk":            hexF(32, inValid),
			"client_private": hexF(32, inValid),
			"client_public":  hexF(32, inValid),
			"server_private": hexF(32, inValid),
			"server_public":  hexF(32, inValid),
			"handshake_hash": hexF(32, inValid),
			"c2s_key":        hexF(32, inValid),
			"s2c_key":        hexF(32, inValid),
		}, v2KeySchedule},
		"frame":          {frameFields(), checkFrame(v2Frames)},
		"frame_stream":   {frameStreamFields(), checkFrameStream(v2Frames)},
		"request_header": {requestHeaderFields(), checkRequestHeader},
		"datagram":       {datagramFields(), checkDatagram},
		"first_flight":   {firstFlightFields(), checkFirstFlight},
	}
}

func payloadOf(t *test) v2.Payload {
	p := v2.Payload{Timestamp: t.i64["timestamp"]}
	copy(p.Nonce[:], t.hex["nonce"])
	copy(p.Reserved[:], t.hex["reserved"])
	return p
}

// prefixDiff: encoded begins with the public key of the given private key.
func prefixDiff(t *test, priv string) string {
	if !t.has(priv) {
		return ""
	}
	pub := dh.PublicKey(t.b32(priv))
	enc := t.hex["encoded"]
	n := len(enc)
	if n > 32 {
		n = 32
	}
	return diff("encoded begins with the public key of "+priv, "encoded", pub[:n], enc[:n])
}

// serverDecider is a server that accepts only v2 and knows only user, with
// a clock at now (or the real clock) and a fresh replay filter.
func serverDecider(user [16]byte, now *int64) *decide.Decider {
	clock := func() int64 { return time.Now().Unix() }
	if now != nil {
		n := *now
		clock = func() int64 { return n }
	}
	return decide.New(decide.Config{AcceptV2: true, Users: [][16]byte{user},
		Filter: replay.New(16, replay.DefaultWindow), Now: clock})
}

func v2ClientHandshake(t *test) string {
	user, enc := t.b16("user_id"), t.hex["encoded"]
	if !t.valid {
		var now *int64
		if t.has("timestamp") {
			ts := t.i64["timestamp"]
			now = &ts
		}
		_, err := serverDecider(user, now).Decide(enc)
		return first(expectErr("server reads message 1", t.errName, err), prefixDiff(t, "client_private"))
	}
	p := payloadOf(t)
	c, err := v2.NewClient(user, dh.FromPrivate(t.b32("client_private")))
	if m := expectOK("client", err); m != "" {
		return m
	}
	msg1, err := c.WriteHello(p)
	if m := first(expectOK("write message 1", err), diff("write message 1", "encoded", enc, msg1)); m != "" {
		return m
	}
	a, err := v2.NewServer([][16]byte{user}).ReadHello(enc)
	if m := expectOK("read message 1", err); m != "" {
		return m
	}
	if m := first(
		i64Diff("read message 1", "timestamp", p.Timestamp, a.Payload.Timestamp),
		diff("read message 1", "nonce", p.Nonce[:], a.Payload.Nonce[:]),
		diff("read message 1", "reserved", p.Reserved[:], a.Payload.Reserved[:]),
	); m != "" {
		return m
	}
	// The whole server decision with a clock at the timestamp, then the
	// client reads the answer and one frame goes each way.
	acc, err := serverDecider(user, &p.Timestamp).Decide(enc)
	if m := expectOK("server decision", err); m != "" {
		return m
	}
	keys, err := c.ReadHello(acc.Reply)
	if m := expectOK("client reads message 2", err); m != "" {
		return m
	}
	cs, co := keys.ClientFrames()
	return first(roundTrip("client to server", cs, acc.Opener), roundTrip("server to client", acc.Sealer, co))
}

func roundTrip(op string, s *frame.Sealer, o *frame.Opener) string {
	msg := []byte("reflex")
	w, err := s.Seal(nil, frame.Data, msg)
	if m := expectOK(op+": seal", err); m != "" {
		return m
	}
	typ, p, err := o.Open(nil, w)
	return first(expectOK(op+": open", err), typeDiff(op, byte(frame.Data), byte(typ)), diff(op, "payload", msg, p))
}

// clientAfterMessage1 is the client of a server_handshake or key_schedule
// test, having written message 1.
func clientAfterMessage1(t *test, e dh.KeyPair) (*v2.Client, []byte, string) {
	c, err := v2.NewClient(t.b16("user_id"), e)
	if m := expectOK("client", err); m != "" {
		return nil, nil, m
	}
	msg1, err := c.WriteHello(payloadOf(t))
	if m := expectOK("write message 1", err); m != "" {
		return nil, nil, m
	}
	return c, msg1, ""
}

func v2ServerHandshake(t *test) string {
	enc := t.hex["encoded"]
	c, msg1, m := clientAfterMessage1(t, dh.FromPrivate(t.b32("client_private")))
	if m != "" {
		return m
	}
	if !t.valid {
		_, err := c.ReadHello(enc)
		return first(expectErr("client reads message 2", t.errName, err), prefixDiff(t, "server_private"))
	}
	a, err := v2.NewServer([][16]byte{t.b16("user_id")}).ReadHello(msg1)
	if m := expectOK("server reads message 1", err); m != "" {
		return m
	}
	msg2, skeys, err := a.WriteHello(dh.FromPrivate(t.b32("server_private")))
	if m := first(expectOK("write message 2", err), diff("write message 2", "encoded", enc, msg2)); m != "" {
		return m
	}
	ckeys, err := c.ReadHello(enc)
	if m := expectOK("client reads message 2", err); m != "" {
		return m
	}
	return diff("handshake", "handshake hash (client vs server)", skeys.HandshakeHash, ckeys.HandshakeHash)
}

// sameKey reports whether a Noise cipher was keyed with key: both seal the
// same probe at the same nonce (a different key gives a different tag but
// with negligible probability). flynn/noise does not expose Split()'s keys.
func sameKey(c noise.Cipher, key [32]byte) bool {
	probe := []byte("reflex/2 key probe")
	ref := noise.CipherChaChaPoly.Cipher(key)
	return bytes.Equal(c.Encrypt(nil, 7, nil, probe), ref.Encrypt(nil, 7, nil, probe))
}

func v2KeySchedule(t *test) string {
	user := t.b16("user_id")
	if t.has("psk") {
		psk := v2.PSK(user)
		if m := diff("HKDF of the user id", "psk", t.hex["psk"], psk[:]); m != "" {
			return m
		}
	}
	if m := first(checkPublic(t, "client"), checkPublic(t, "server")); m != "" {
		return m
	}
	if !t.valid {
		sides := 0
		if t.has("client_private") && t.has("server_public") {
			sides++
			c, _, m := clientAfterMessage1(t, dh.FromPrivate(t.b32("client_private")))
			if m != "" {
				return m
			}
			msg2 := append(append([]byte{}, t.hex["server_public"]...), make([]byte, 16)...)
			_, err := c.ReadHello(msg2)
			if m := expectErr("client reads message 2", t.errName, err); m != "" {
				return m
			}
		}
		if t.has("client_public") && t.has("server_private") {
			sides++
			// Message 1 carries only the client's public key (no DH in it).
			_, msg1, m := clientAfterMessage1(t, dh.KeyPair{Public: t.b32("client_public")})
			if m != "" {
				return m
			}
			a, err := v2.NewServer([][16]byte{user}).ReadHello(msg1)
			if m := expectOK("server reads message 1", err); m != "" {
				return m
			}
			_, _, err = a.WriteHello(dh.FromPrivate(t.b32("server_private")))
			if m := expectErr("server writes message 2", t.errName, err); m != "" {
				return m
			}
		}
		if sides == 0 {
			return "no side of the exchange is computable from the fields given"
		}
		return ""
	}
	c, msg1, m := clientAfterMessage1(t, dh.FromPrivate(t.b32("client_private")))
	if m != "" {
		return m
	}
	if m := diff("write message 1", "client_public", t.hex["client_public"], msg1[:32]); m != "" {
		return m
	}
	a, err := v2.NewServer([][16]byte{user}).ReadHello(msg1)
	if m := expectOK("server reads message 1", err); m != "" {
		return m
	}
	msg2, skeys, err := a.WriteHello(dh.FromPrivate(t.b32("server_private")))
	if m := expectOK("server writes message 2", err); m != "" {
		return m
	}
	ckeys, err := c.ReadHello(msg2)
	if m := expectOK("client reads message 2", err); m != "" {
		return m
	}
	for _, side := range []struct {
		name string
		k    *v2.Keys
	}{{"client", ckeys}, {"server", skeys}} {
		if m := diff(side.name, "handshake_hash", t.hex["handshake_hash"], side.k.HandshakeHash); m != "" {
			return m
		}
		if !sameKey(side.k.C2S, t.b32("c2s_key")) {
			return fmt.Sprintf("%s: Split()'s first key is not c2s_key", side.name)
		}
		if !sameKey(side.k.S2C, t.b32("s2c_key")) {
			return fmt.Sprintf("%s: Split()'s second key is not s2c_key", side.name)
		}
	}
	return ""
}
