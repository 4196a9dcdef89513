package vectors

import (
	"bytes"
	"fmt"

	"reflexport/dh"
	"reflexport/rerr"
	"reflexport/v1"
)

func v1Kinds() map[string]kind {
	return map[string]kind{
		"client_handshake": {fields{
			"encoded":    hexF(-1, always),
			"public_key": hexF(32, inValid),
			"user_id":    hexF(16, inValid),
			"timestamp":  i64F(inValid),
			"nonce":      hexF(16, inValid),
		}, v1ClientHandshake},
		"server_handshake": {fields{
			"encoded":    hexF(-1, always),
			"public_key": hexF(32, inValid),
			"timestamp":  i64F(inValid),
		}, v1ServerHandshake},
		"key_schedule": {fields{
			"client_private": hexF(32, inValid),
			"server_private": hexF(32, inValid),
			"client_public":  hexF(32, inValid),
			"server_public":  hexF(32, inValid),
			"shared_secret":  hexF(32, inValid),
			"session_key":    hexF(32, inValid),
		}, v1KeySchedule},
		"frame":          {frameFields(), checkFrame(v1Frames)},
		"frame_stream":   {frameStreamFields(), checkFrameStream(v1Frames)},
		"request_header": {requestHeaderFields(), checkRequestHeader},
		"datagram":       {datagramFields(), checkDatagram},
	}
}

func i64Diff(op, name string, want, got int64) string {
	if want != got {
		return fmt.Sprintf("%s: %s: expected %d, got %d", op, name, want, got)
	}
	return ""
}

// agreeExceptMagic: an invalid test's fields are what the malformed
// encoding was made from; they agree on every byte both have (bytes 0..3
// aside when the error is bad_magic).
func agree(enc, fromFields []byte, skipMagic bool) string {
	for i := 0; i < len(enc) && i < len(fromFields); i++ {
		if skipMagic && i < 4 {
			continue
		}
		if enc[i] != fromFields[i] {
			return fmt.Sprintf("fields: encoded and the fields' encoding differ at byte %d: %02x vs %02x", i, enc[i], fromFields[i])
		}
	}
	return ""
}

func v1ClientHandshake(t *test) string {
	enc := t.hex["encoded"]
	all := t.has("public_key") && t.has("user_id") && t.has("timestamp") && t.has("nonce")
	var want v1.ClientHello
	if all {
		want.PublicKey, want.UserID, want.Timestamp = t.b32("public_key"), t.b16("user_id"), t.i64["timestamp"]
		copy(want.Nonce[:], t.hex["nonce"])
	}
	got, err := v1.DecodeClientHello(enc)
	if !t.valid {
		if m := expectErr("decode", t.errName, err); m != "" {
			return m
		}
		if all {
			return agree(enc, want.Encode(), rerr.Name(err) == rerr.BadMagic.Error())
		}
		return ""
	}
	return first(
		expectOK("decode", err),
		diff("decode", "public_key", want.PublicKey[:], got.PublicKey[:]),
		diff("decode", "user_id", want.UserID[:], got.UserID[:]),
		i64Diff("decode", "timestamp", want.Timestamp, got.Timestamp),
		diff("decode", "nonce", want.Nonce[:], got.Nonce[:]),
		diff("encode", "encoded", enc, want.Encode()),
	)
}

func v1ServerHandshake(t *test) string {
	enc := t.hex["encoded"]
	all := t.has("public_key") && t.has("timestamp")
	var want v1.ServerHello
	if all {
		want.PublicKey, want.Timestamp = t.b32("public_key"), t.i64["timestamp"]
	}
	got, err := v1.DecodeServerHello(enc)
	if !t.valid {
		if m := expectErr("decode", t.errName, err); m != "" {
			return m
		}
		if all {
			return agree(enc, want.Encode(), false)
		}
		return ""
	}
	return first(
		expectOK("decode", err),
		diff("decode", "public_key", want.PublicKey[:], got.PublicKey[:]),
		i64Diff("decode", "timestamp", want.Timestamp, got.Timestamp),
		diff("encode", "encoded", enc, want.Encode()),
	)
}

// checkPublic checks a public key given beside its private key.
func checkPublic(t *test, side string) string {
	priv, pub := side+"_private", side+"_public"
	if !t.has(priv) || !t.has(pub) {
		return ""
	}
	p := dh.PublicKey(t.b32(priv))
	return diff("X25519 base point", pub, t.hex[pub], p[:])
}

func v1KeySchedule(t *test) string {
	if m := first(checkPublic(t, "client"), checkPublic(t, "server")); m != "" {
		return m
	}
	if t.valid {
		for _, side := range []struct{ name, own, peer string }{
			{"client", "client_private", "server_public"},
			{"server", "server_private", "client_public"},
		} {
			shared, key, err := v1.Derive(t.b32(side.own), t.b32(side.peer))
			op := side.name + " exchange"
			if m := first(expectOK(op, err),
				diff(op, "shared_secret", t.hex["shared_secret"], shared[:]),
				diff(op, "session_key", t.hex["session_key"], key[:])); m != "" {
				return m
			}
		}
		return ""
	}
	sides := 0
	if t.has("client_private") && t.has("server_public") {
		sides++
		_, _, err := v1.Derive(t.b32("client_private"), t.b32("server_public"))
		if m := expectErr("client exchange", t.errName, err); m != "" {
			return m
		}
	}
	if t.has("server_private") && t.has("client_public") {
		sides++
		_, _, err := v1.Derive(t.b32("server_private"), t.b32("client_public"))
		if m := expectErr("server exchange", t.errName, err); m != "" {
			return m
		}
	}
	if sides == 0 {
		return "no side of the exchange is computable from the fields given"
	}
	var zero [32]byte
	shared := zero
	if t.has("shared_secret") {
		if !bytes.Equal(t.hex["shared_secret"], zero[:]) {
			return diff("refused exchange", "shared_secret", zero[:], t.hex["shared_secret"])
		}
	}
	if t.has("session_key") {
		k := v1.SessionKey(shared)
		return diff("HKDF of the shared secret", "session_key", t.hex["session_key"], k[:])
	}
	return ""
}
