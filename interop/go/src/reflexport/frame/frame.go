// Package frame implements Reflex frames (SPEC.md section 5, and 11.5 for
// profile v2): sealing, opening one frame, and decoding a stream of frames.
package frame

import (
	"encoding/binary"
	"math"

	"github.com/flynn/noise"
	"golang.org/x/crypto/chacha20poly1305"

	"reflexport/rerr"
)

// Sizes and limits of SPEC.md section 1.
const (
	LengthSize = 2     // the u16 length field
	TagSize    = 16    // the AEAD tag
	MaxPayload = 16384 // largest payload
	MinLength  = TagSize
	MaxLength  = 1 + MaxPayload + TagSize // 16401
	Overhead   = LengthSize + 1 + TagSize // 19
	MaxWire    = LengthSize + MaxLength   // 16403
)

// Type is a frame type (SPEC.md section 5.5).
type Type byte

// The four frame types.
const (
	Data    Type = 1
	Padding Type = 2
	Timing  Type = 3
	Close   Type = 4
)

// Valid reports whether t is one of the four frame types.
func (t Type) Valid() bool { return t >= Data && t <= Close }

// AEAD seals and opens a frame's plaintext at a given counter. The two
// profiles differ only in how the counter becomes the 12-byte nonce.
type AEAD interface {
	Seal(dst []byte, counter uint64, plaintext []byte) []byte
	Open(dst []byte, counter uint64, ciphertext []byte) ([]byte, error)
}

// Counters is a profile's counter range: the first counter of a direction
// and the last one it may use.
type Counters struct{ First, Last uint64 }

var (
	// V1Counters: counting from 1 up to and including 2^64-1 (section 5.2).
	V1Counters = Counters{First: 1, Last: math.MaxUint64}
	// V2Counters: Noise nonces from 0 up to and including 2^64-2 (11.5).
	V2Counters = Counters{First: 0, Last: math.MaxUint64 - 1}
)

type v1AEAD struct {
	a interface {
		Seal(dst, nonce, plaintext, ad []byte) []byte
		Open(dst, nonce, ciphertext, ad []byte) ([]byte, error)
	}
}

// NewV1AEAD returns v1's AEAD: ChaCha20-Poly1305-IETF with the counter
// little-endian in nonce bytes 0..7 and zeros in bytes 8..11.
func NewV1AEAD(key [32]byte) AEAD {
	a, err := chacha20poly1305.New(key[:])
	if err != nil {
		panic(err) // only for a key of the wrong size, impossible here
	}
	return v1AEAD{a}
}

func v1Nonce(counter uint64) []byte {
	var n [chacha20poly1305.NonceSize]byte
	binary.LittleEndian.PutUint64(n[0:8], counter)
	return n[:]
}

func (v v1AEAD) Seal(dst []byte, counter uint64, pt []byte) []byte {
	return v.a.Seal(dst, v1Nonce(counter), pt, nil)
}

func (v v1AEAD) Open(dst []byte, counter uint64, ct []byte) ([]byte, error) {
	return v.a.Open(dst, v1Nonce(counter), ct, nil)
}

type noiseAEAD struct{ c noise.Cipher }

// NewNoiseAEAD wraps a Noise cipher (from a CipherState of Split()): the
// nonce is 4 zero bytes then the counter little-endian (section 11.5).
func NewNoiseAEAD(c noise.Cipher) AEAD { return noiseAEAD{c} }

// NewV2AEAD returns v2's AEAD for a raw 32-byte key.
func NewV2AEAD(key [32]byte) AEAD { return noiseAEAD{noise.CipherChaChaPoly.Cipher(key)} }

func (n noiseAEAD) Seal(dst []byte, counter uint64, pt []byte) []byte {
	return n.c.Encrypt(dst, counter, nil, pt)
}

func (n noiseAEAD) Open(dst []byte, counter uint64, ct []byte) ([]byte, error) {
	return n.c.Decrypt(dst, counter, nil, ct)
}

// direction is one direction's counter: never reused, never wrapping.
type direction struct {
	next, last uint64
	done       bool
}

func (d *direction) current() (uint64, error) {
	if d.done || d.next > d.last {
		return 0, rerr.CounterExhausted
	}
	return d.next, nil
}

func (d *direction) advance() {
	if d.next == d.last {
		d.done = true
	} else {
		d.next++
	}
}

// CheckLength checks a frame's length field (section 5.3, check 2).
func CheckLength(length int) error {
	switch {
	case length > MaxLength:
		return rerr.FrameTooLarge
	case length < MinLength:
		return rerr.BadLength
	}
	return nil
}

// Sealer seals one direction's frames.
type Sealer struct {
	aead AEAD
	dir  direction
	pt   []byte
}

// NewSealer returns a sealer whose next frame uses counter start and whose
// last usable counter is last.
func NewSealer(a AEAD, start, last uint64) *Sealer {
	return &Sealer{aead: a, dir: direction{next: start, last: last}}
}

// Seal appends the wire form of one frame to dst. A refused seal uses no
// counter (section 5.4).
func (s *Sealer) Seal(dst []byte, t Type, payload []byte) ([]byte, error) {
	if len(payload) > MaxPayload {
		return nil, rerr.FrameTooLarge
	}
	if !t.Valid() {
		return nil, rerr.InvalidArgument
	}
	ctr, err := s.dir.current()
	if err != nil {
		return nil, err
	}
	s.pt = append(append(s.pt[:0], byte(t)), payload...)
	dst = append(dst, 0, 0)
	start := len(dst)
	dst = s.aead.Seal(dst, ctr, s.pt)
	binary.BigEndian.PutUint16(dst[start-2:start], uint16(len(dst)-start))
	wipe(s.pt)
	s.dir.advance()
	return dst, nil
}

// Opener opens one direction's frames, strictly in order. Its errors are
// final (section 5.3).
type Opener struct {
	aead AEAD
	dir  direction
	err  error
}

// NewOpener returns an opener whose next frame is opened at counter start.
func NewOpener(a AEAD, start, last uint64) *Opener {
	return &Opener{aead: a, dir: direction{next: start, last: last}}
}

// Err returns the opener's final error, if any.
func (o *Opener) Err() error { return o.err }

// Open opens exactly one frame (length field included) and appends its
// payload to dst. On any error nothing is appended and the opener is done.
func (o *Opener) Open(dst []byte, wire []byte) (Type, []byte, error) {
	if o.err != nil {
		return 0, nil, o.err
	}
	t, out, err := o.open(dst, wire)
	if err != nil {
		o.err = err
		return 0, nil, err
	}
	return t, out, nil
}

func (o *Opener) open(dst []byte, wire []byte) (Type, []byte, error) {
	if len(wire) < LengthSize {
		return 0, nil, rerr.TooShort
	}
	length := int(binary.BigEndian.Uint16(wire))
	if err := CheckLength(length); err != nil {
		return 0, nil, err
	}
	switch {
	case len(wire) < LengthSize+length:
		return 0, nil, rerr.TooShort
	case len(wire) > LengthSize+length:
		return 0, nil, rerr.TrailingBytes
	}
	ctr, err := o.dir.current()
	if err != nil {
		return 0, nil, err
	}
	pt, err := o.aead.Open(nil, ctr, wire[LengthSize:])
	if err != nil {
		return 0, nil, rerr.AuthFailed
	}
	o.dir.advance()
	defer wipe(pt)
	if len(pt) == 0 {
		return 0, nil, rerr.EmptyPlaintext
	}
	t := Type(pt[0])
	if !t.Valid() {
		return 0, nil, rerr.UnknownFrameType
	}
	return t, append(dst, pt[1:]...), nil
}

func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
