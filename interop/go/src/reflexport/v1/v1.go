// Package v1 implements profile v1-compat's hellos and key schedule
// (SPEC.md sections 3 and 4).
package v1

import (
	"crypto/sha256"
	"encoding/binary"
	"io"

	"golang.org/x/crypto/hkdf"

	"reflexport/dh"
	"reflexport/frame"
	"reflexport/rerr"
)

// Sizes and constants.
const (
	ClientHelloSize = 76
	ServerHelloSize = 40
	hkdfLabel       = "reflex-session-v1"
)

// Magic is the first 4 bytes of a client hello, ASCII "RFXL".
var Magic = [4]byte{0x52, 0x46, 0x58, 0x4c}

// ClientHello is the 76-byte client hello (section 3.1).
type ClientHello struct {
	PublicKey [32]byte
	UserID    [16]byte
	Timestamp int64
	Nonce     [16]byte
}

// Encode returns the hello's 76 bytes.
func (h ClientHello) Encode() []byte {
	b := make([]byte, 0, ClientHelloSize)
	b = append(b, Magic[:]...)
	b = append(b, h.PublicKey[:]...)
	b = append(b, h.UserID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Timestamp))
	return append(b, h.Nonce[:]...)
}

// DecodeClientHello decodes exactly one client hello, checking length,
// magic and trailing bytes in the order of section 3.1.
func DecodeClientHello(b []byte) (ClientHello, error) {
	var h ClientHello
	if len(b) < ClientHelloSize {
		return h, rerr.TooShort
	}
	if *(*[4]byte)(b[0:4]) != Magic {
		return h, rerr.BadMagic
	}
	if len(b) > ClientHelloSize {
		return h, rerr.TrailingBytes
	}
	copy(h.PublicKey[:], b[4:36])
	copy(h.UserID[:], b[36:52])
	h.Timestamp = int64(binary.BigEndian.Uint64(b[52:60]))
	copy(h.Nonce[:], b[60:76])
	return h, nil
}

// ServerHello is the 40-byte server hello (section 3.2).
type ServerHello struct {
	PublicKey [32]byte
	Timestamp int64
}

// Encode returns the hello's 40 bytes.
func (h ServerHello) Encode() []byte {
	b := make([]byte, 0, ServerHelloSize)
	b = append(b, h.PublicKey[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(h.Timestamp))
}

// DecodeServerHello decodes exactly one server hello.
func DecodeServerHello(b []byte) (ServerHello, error) {
	var h ServerHello
	switch {
	case len(b) < ServerHelloSize:
		return h, rerr.TooShort
	case len(b) > ServerHelloSize:
		return h, rerr.TrailingBytes
	}
	copy(h.PublicKey[:], b[0:32])
	h.Timestamp = int64(binary.BigEndian.Uint64(b[32:40]))
	return h, nil
}

// SessionKey is HKDF-SHA256(shared, salt = info = "reflex-session-v1", 32).
func SessionKey(shared [32]byte) [32]byte {
	var key [32]byte
	r := hkdf.New(sha256.New, shared[:], []byte(hkdfLabel), []byte(hkdfLabel))
	if _, err := io.ReadFull(r, key[:]); err != nil {
		panic(err) // 32 bytes never exceed HKDF's limit
	}
	return key
}

// Derive computes the shared secret and session key from one side.
func Derive(ownPrivate, peerPublic [32]byte) (shared, key [32]byte, err error) {
	shared, err = dh.Shared(ownPrivate, peerPublic)
	if err != nil {
		return shared, key, err
	}
	return shared, SessionKey(shared), nil
}

// Frames returns a sealer and an opener for a v1 session: one key, each
// direction its own counter from 1.
func Frames(key [32]byte) (*frame.Sealer, *frame.Opener) {
	a := frame.NewV1AEAD(key)
	c := frame.V1Counters
	return frame.NewSealer(a, c.First, c.Last), frame.NewOpener(a, c.First, c.Last)
}
