// Package shape is v2's first flight (SPEC.md section 11.8): Noise message
// 1 sent as it is (raw), inside an HTTP GET request head (http), or inside
// a TLS 1.3 ClientHello record (tls). Nothing on the wire names the shape:
// the server and its clients are configured with the same one.
package shape

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"

	"reflexport/rerr"
)

// Message1Size is the size of Noise message 1 (the v2 client hello).
const Message1Size = 76

// FillerSize is the size of the tls session id's last 20 bytes, the
// filler (Filler).
const FillerSize = 20

// FillerSalt is the HKDF salt of the tls filler's key (section 11.8).
const FillerSalt = "reflex/2 tls filler"

// FillerKey is a user's key for the tls shape's filler (section 11.8):
// HKDF-SHA256(IKM = the user's PSK (section 11.2), salt = "reflex/2 tls
// filler", info = empty, L = 32). A server makes one per user at start
// (and one of no user's, for flights the trial finds no user for); a
// client makes its user's.
type FillerKey [32]byte

// NewFillerKey derives the filler key of the user whose PSK is psk.
func NewFillerKey(psk [32]byte) FillerKey {
	var k FillerKey
	r := hkdf.New(sha256.New, psk[:], []byte(FillerSalt), nil)
	if _, err := io.ReadFull(r, k[:]); err != nil {
		panic(err)
	}
	return k
}

// Filler is the tls shape's filler (section 11.8): the first 20 bytes of
// HMAC-SHA256 keyed with the user's filler key over message 1. It looks
// random to whoever lacks the key, and it makes every byte of a tls first
// flight checked: a server reads message 1 out of the flight, computes the
// HMAC with the filler key of the user the trial (section 11.4) finds (of
// no user's when it finds none: the same cost either way), and refuses a
// filler that differs (OK; bad_shape, after the trial's refusals).
func (k FillerKey) Filler(msg1 []byte) []byte {
	m := hmac.New(sha256.New, k[:])
	m.Write(msg1)
	return m.Sum(nil)[:FillerSize]
}

// OK reports, in constant time, whether filler is the one the holder of k
// makes for msg1. It computes the HMAC whatever filler is.
func (k FillerKey) OK(msg1, filler []byte) bool {
	want := k.Filler(msg1)
	return subtle.ConstantTimeCompare(want, filler) == 1
}

// Limits of the per-server parameters (section 11.8).
const (
	MaxHost = 253 // 1..253 of A-Z a-z 0-9 - .
	MaxPath = 64  // "/" and up to 63 of A-Z a-z 0-9 - . _ ~ /
	// MaxSize is the longest first flight: http with the longest path and
	// host (140 + 64 + 253).
	MaxSize = 457
)

// Kind is a shape; its number is the one vector files use.
type Kind int

// The shapes.
const (
	Raw  Kind = 0
	HTTP Kind = 1
	TLS  Kind = 2
)

var kindNames = []string{"raw", "http", "tls"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("shape(%d)", int(k))
}

// ParseKind parses "raw", "http" or "tls".
func ParseKind(s string) (Kind, bool) {
	for i, n := range kindNames {
		if n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Shape is a server's first-flight shape and its parameters. Host is used
// by http and tls, Path by http only; the zero Shape is raw.
type Shape struct {
	Kind Kind
	Host string
	Path string // "" means "/"
}

// path returns the path prefix, "/" when unset.
func (s Shape) path() string {
	if s.Path == "" {
		return "/"
	}
	return s.Path
}

func isAlnum(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

// ValidHost reports whether h is 1 to 253 of A-Z a-z 0-9 - . (section 11.8).
func ValidHost(h string) bool {
	if len(h) < 1 || len(h) > MaxHost {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !isAlnum(c) && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// ValidPath reports whether p is "/" and then up to 63 of
// A-Z a-z 0-9 - . _ ~ / (section 11.8).
func ValidPath(p string) bool {
	if len(p) < 1 || len(p) > MaxPath || p[0] != '/' {
		return false
	}
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case isAlnum(c), c == '-', c == '.', c == '_', c == '~', c == '/':
		default:
			return false
		}
	}
	return true
}

// Validate checks the parameters the shape uses: none for raw, the host for
// tls, the host and the path for http.
func (s Shape) Validate() error {
	switch s.Kind {
	case Raw:
		return nil
	case HTTP:
		if !ValidHost(s.Host) {
			return fmt.Errorf("first-flight host %q: must be 1 to %d of A-Z a-z 0-9 - .", s.Host, MaxHost)
		}
		if !ValidPath(s.path()) {
			return fmt.Errorf("first-flight path %q: must be '/' and then up to %d of A-Z a-z 0-9 - . _ ~ /", s.Path, MaxPath-1)
		}
		return nil
	case TLS:
		if !ValidHost(s.Host) {
			return fmt.Errorf("first-flight host %q: must be 1 to %d of A-Z a-z 0-9 - .", s.Host, MaxHost)
		}
		return nil
	}
	return fmt.Errorf("unknown first-flight shape %d", int(s.Kind))
}

// Size is the length of the shape's first flight (0 for an invalid shape):
// raw 76, http 140 + |PATH| + |HOST|, tls 166 + |HOST|.
func (s Shape) Size() int {
	if s.Validate() != nil {
		return 0
	}
	switch s.Kind {
	case HTTP:
		return 140 + len(s.path()) + len(s.Host)
	case TLS:
		return 166 + len(s.Host)
	}
	return Message1Size
}

// The http template around B (section 11.8).
const (
	httpMethod = "GET "
	b64Len     = 102 // 76 bytes in base64url without padding
)

func (s Shape) httpHead() string { return httpMethod + s.path() }
func (s Shape) httpTail() string {
	return " HTTP/1.1\r\nHost: " + s.Host + "\r\nAccept: */*\r\n\r\n"
}

// tls template pieces (section 11.8).
var (
	tlsSuites = []byte{0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, // cipher_suites
		0x01, 0x00} // legacy_compression_methods
	tlsAfterSNI = []byte{
		0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x1d, // supported_groups: x25519
		0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, // signature_algorithms
		0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04, // supported_versions: TLS 1.3
		0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20, // key_share: x25519, 32 bytes
	}
)

// tlsTemplate writes the tls first flight with message 1 and filler in
// their places. Encode and Decode share it: Decode builds the template
// from the carried bytes it read and compares every byte.
func (s Shape) tlsTemplate(msg1, filler []byte) []byte {
	h := len(s.Host)
	b := make([]byte, 0, 166+h)
	b = append(b, 0x16, 0x03, 0x01)
	b = binary.BigEndian.AppendUint16(b, uint16(161+h))
	b = append(b, 0x01, 0x00)
	b = binary.BigEndian.AppendUint16(b, uint16(157+h)) // u24: the top byte is 0
	b = append(b, 0x03, 0x03)                           // legacy_version
	b = append(b, msg1[32:64]...)                       // random
	b = append(b, 0x20)                                 // legacy_session_id: 32 bytes
	b = append(b, msg1[64:76]...)
	b = append(b, filler...)
	b = append(b, tlsSuites...)
	b = binary.BigEndian.AppendUint16(b, uint16(78+h)) // extensions
	b = append(b, 0x00, 0x00)                          // server_name
	b = binary.BigEndian.AppendUint16(b, uint16(h+5))
	b = binary.BigEndian.AppendUint16(b, uint16(h+3))
	b = append(b, 0x00)
	b = binary.BigEndian.AppendUint16(b, uint16(h))
	b = append(b, s.Host...)
	b = append(b, tlsAfterSNI...)
	b = append(b, msg1[0:32]...) // key_share: the ephemeral key e
	return b
}

// Offsets of the carried bytes in the tls first flight.
const (
	tlsRandom  = 11 // message 1 bytes 32..63
	tlsSession = 44 // after its length byte: message 1 bytes 64..75
	tlsFiller  = 56 // then the filler's 20 bytes
)

// Encode shapes message 1 (76 bytes). filler is the tls session id's last
// 20 bytes (a client makes them with FillerKey.Filler; Encode writes
// whatever it is given); other shapes ignore it.
func (s Shape) Encode(msg1, filler []byte) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, rerr.InvalidArgument
	}
	if len(msg1) != Message1Size {
		return nil, rerr.InvalidArgument
	}
	switch s.Kind {
	case HTTP:
		out := make([]byte, 0, s.Size())
		out = append(out, s.httpHead()...)
		out = appendBase64URL(out, msg1)
		return append(out, s.httpTail()...), nil
	case TLS:
		if len(filler) != FillerSize {
			return nil, rerr.InvalidArgument
		}
		return s.tlsTemplate(msg1, filler), nil
	}
	return append([]byte(nil), msg1...), nil
}

// Decode reads exactly one first flight of the shape and returns the
// message 1 it carries (and, for tls, the filler): the length first,
// too_short for fewer bytes than the shape's size, trailing_bytes for
// more, whatever the bytes; then bad_shape when a byte that is not carried
// differs from the template or B is not canonical base64url. An invalid
// shape is invalid_argument. Decode does not check the tls filler: that
// takes the user the trial finds (FillerKey.OK).
func (s Shape) Decode(b []byte) (msg1, filler []byte, err error) {
	if s.Validate() != nil {
		return nil, nil, rerr.InvalidArgument
	}
	n := s.Size()
	if len(b) < n {
		return nil, nil, rerr.TooShort
	}
	if len(b) > n {
		return nil, nil, rerr.TrailingBytes
	}
	switch s.Kind {
	case HTTP:
		head, tail := s.httpHead(), s.httpTail()
		if string(b[:len(head)]) != head || string(b[n-len(tail):]) != tail {
			return nil, nil, rerr.BadShape
		}
		m, ok := decodeBase64URL(b[len(head) : len(head)+b64Len])
		if !ok {
			return nil, nil, rerr.BadShape
		}
		return m, nil, nil
	case TLS:
		m := make([]byte, 0, Message1Size)
		m = append(m, b[n-32:]...)
		m = append(m, b[tlsRandom:tlsRandom+32]...)
		m = append(m, b[tlsSession:tlsSession+12]...)
		f := append([]byte(nil), b[tlsFiller:tlsFiller+FillerSize]...)
		if !bytes.Equal(s.tlsTemplate(m, f), b) {
			return nil, nil, rerr.BadShape
		}
		return m, f, nil
	}
	return append([]byte(nil), b...), nil, nil
}

// base64url (RFC 4648 section 5) without padding, written here rather than
// with encoding/base64: its decoder skips CR and LF, and B must be read
// character by character, canonically.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

var b64Value [256]int8

func init() {
	for i := range b64Value {
		b64Value[i] = -1
	}
	for i := 0; i < len(b64Alphabet); i++ {
		b64Value[b64Alphabet[i]] = int8(i)
	}
}

func appendBase64URL(dst, src []byte) []byte {
	var acc uint
	bits := 0
	for _, c := range src {
		acc = acc<<8 | uint(c)
		bits += 8
		for bits >= 6 {
			bits -= 6
			dst = append(dst, b64Alphabet[(acc>>uint(bits))&63])
		}
	}
	if bits > 0 {
		dst = append(dst, b64Alphabet[(acc<<uint(6-bits))&63])
	}
	return dst
}

// decodeBase64URL decodes the 102 characters of B into 76 bytes; every
// character must be in the alphabet and the bits of the last one beyond
// the 76th byte must be zero (one spelling per message).
func decodeBase64URL(src []byte) ([]byte, bool) {
	out := make([]byte, 0, Message1Size)
	var acc uint
	bits := 0
	for _, c := range src {
		v := b64Value[c]
		if v < 0 {
			return nil, false
		}
		acc = acc<<6 | uint(v)
		bits += 6
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>uint(bits)))
		}
	}
	if acc&(1<<uint(bits)-1) != 0 || len(out) != Message1Size {
		return nil, false
	}
	return out, true
}
