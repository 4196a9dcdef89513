// Package decide is the server's decision of SPEC.md section 12: what a
// connection's first bytes are, and for a hello that is accepted, the
// server's answer and the session's frame codecs.
package decide

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"time"

	"reflexport/dh"
	"reflexport/frame"
	"reflexport/replay"
	"reflexport/rerr"
	"reflexport/shape"
	"reflexport/v1"
	"reflexport/v2"
)

// HelloSize is the client hello of both profiles (v1's hello, v2's Noise
// message 1), and the first flight of v1 and of v2 in the raw shape.
const HelloSize = 76

// Profile names.
const (
	ProfileV1 = "v1-compat"
	ProfileV2 = "v2"
)

// Config configures a Decider.
type Config struct {
	AcceptV1, AcceptV2 bool
	Users              [][16]byte
	Window             uint64         // seconds; replay.DefaultWindow if 0
	Filter             *replay.Filter // shared by both profiles; required
	Now                func() int64   // Unix seconds; time.Now if nil
	Rand               io.Reader      // crypto/rand if nil
	// Shape is v2's first flight (SPEC.md 11.8); the zero value is raw.
	// It must be valid (shape.Shape.Validate). v1 hellos are never shaped.
	Shape shape.Shape
}

// Decider decides connections. It is safe for concurrent use.
type Decider struct {
	cfg     Config
	v1users map[[16]byte]bool
	v2      *v2.Server
	// The tls shape's filler keys (SPEC.md 11.8), made at start: one per
	// user, and one of no user's for flights the trial finds no user for.
	fillerKeys   map[[16]byte]shape.FillerKey
	noUserFiller shape.FillerKey
}

// New returns a Decider; v2 PSKs are derived here, once.
func New(cfg Config) *Decider {
	if cfg.Window == 0 {
		cfg.Window = replay.DefaultWindow
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().Unix() }
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	d := &Decider{cfg: cfg, v1users: map[[16]byte]bool{}}
	for _, u := range cfg.Users {
		d.v1users[u] = true
	}
	if cfg.AcceptV2 {
		d.v2 = v2.NewServer(cfg.Users)
		if cfg.Shape.Kind == shape.TLS {
			d.fillerKeys = map[[16]byte]shape.FillerKey{}
			for _, u := range cfg.Users {
				d.fillerKeys[u] = shape.NewFillerKey(v2.PSK(u))
			}
			// A key of no user's: random, never any user's filler key.
			if _, err := io.ReadFull(rand.Reader, d.noUserFiller[:]); err != nil {
				panic(err)
			}
		}
	}
	return d
}

// Need is the size N of the first flight the server decides on, given the
// bytes held (section 12.1): 76 while v1-compat is accepted and they could
// still begin with the v1 magic (or when only v1-compat is accepted),
// otherwise the size of v2's first flight in the server's shape.
func (d *Decider) Need(held []byte) int {
	if !d.cfg.AcceptV2 || d.cfg.AcceptV1 && couldBeMagic(held) {
		return HelloSize
	}
	return d.cfg.Shape.Size()
}

// MaxFlight is the most Need can return: what the server reads at most
// before it decides.
func (d *Decider) MaxFlight() int {
	n := HelloSize
	if d.cfg.AcceptV2 && d.cfg.Shape.Size() > n {
		n = d.cfg.Shape.Size()
	}
	return n
}

// couldBeMagic reports whether b's first (up to) 4 bytes are the v1 magic's.
func couldBeMagic(b []byte) bool {
	n := len(b)
	if n > 4 {
		n = 4
	}
	return bytes.Equal(b[:n], v1.Magic[:n])
}

// Early looks at fewer than N bytes (Need) and reports whether the
// connection can be decided already, and the refusal if so: bad_magic for
// a server accepting only v1-compat once a byte differs from the magic,
// too_short for a complete HTTP request head or TLS record (section 12.1).
func (d *Decider) Early(buf []byte) (bool, error) {
	if len(buf) >= d.Need(buf) {
		return false, nil
	}
	if d.cfg.AcceptV1 && !d.cfg.AcceptV2 {
		n := len(buf)
		if n > 4 {
			n = 4
		}
		if !bytes.Equal(buf[:n], v1.Magic[:n]) {
			return true, rerr.BadMagic
		}
	}
	if LooksLikeOtherProtocol(buf) {
		return true, rerr.TooShort
	}
	return false, nil
}

// ShortFirstFlight is the refusal of a connection whose first read
// returned fewer than N bytes (Need; and at least one): what Early decides on
// those bytes if it decides (bad_magic on a v1-only server, too_short for
// an HTTP head or TLS record), else too_short. A genuine client sends its
// hello in one write, so the server judges the first flight and does not
// wait for more (section 12.1).
func (d *Decider) ShortFirstFlight(buf []byte) error {
	if decided, why := d.Early(buf); decided {
		return why
	}
	return rerr.TooShort
}

// LooksLikeOtherProtocol reports a complete HTTP request head (it contains
// an empty line CR LF CR LF) or a whole TLS record (type 20..23, version
// 3.x, all 5 + length bytes present).
func LooksLikeOtherProtocol(buf []byte) bool {
	if bytes.Contains(buf, []byte("\r\n\r\n")) {
		return true
	}
	if len(buf) >= 5 && buf[0] >= 20 && buf[0] <= 23 && buf[1] == 3 {
		length := int(buf[3])<<8 | int(buf[4])
		return len(buf) >= 5+length
	}
	return false
}

// Accepted is an accepted hello: the reply to send, then frames.
type Accepted struct {
	Profile string
	User    [16]byte
	Reply   []byte
	Sealer  *frame.Sealer
	Opener  *frame.Opener
}

// UserString formats a user id as a UUID for logs.
func (a *Accepted) UserString() string { return FormatUUID(a.User) }

// Decide decides on exactly the first N bytes (Need; section 12.1). A
// refusal is one of the codes of section 12.1; the caller hands the
// connection to the fallback with every byte received.
func (d *Decider) Decide(flight []byte) (*Accepted, error) {
	n := d.Need(flight)
	if len(flight) < n {
		return nil, rerr.TooShort
	}
	if len(flight) > n {
		return nil, rerr.TrailingBytes
	}
	if d.cfg.AcceptV1 && bytes.Equal(flight[:4], v1.Magic[:]) {
		return d.decideV1(flight)
	}
	if d.cfg.AcceptV2 {
		// The shape first (bad_shape), then the message 1 it carries;
		// the tls filler once the trial has found the user.
		msg1, filler, err := d.cfg.Shape.Decode(flight)
		if err != nil {
			return nil, err
		}
		return d.decideV2(msg1, filler)
	}
	return nil, rerr.BadMagic
}

func (d *Decider) decideV1(b []byte) (*Accepted, error) {
	h, err := v1.DecodeClientHello(b)
	if err != nil {
		return nil, err
	}
	if !d.v1users[h.UserID] {
		return nil, rerr.UnknownUser
	}
	now := d.cfg.Now()
	if !replay.InWindow(now, h.Timestamp, d.cfg.Window) {
		return nil, rerr.TimestampOutOfWindow
	}
	// The replay filter before any key is drawn or X25519 computed: a
	// replay costs what a random hello does (section 12.1).
	if err := d.cfg.Filter.Check(h.UserID, h.PublicKey, h.Timestamp, now); err != nil {
		return nil, err
	}
	e, err := dh.Generate(d.cfg.Rand)
	if err != nil {
		return nil, err
	}
	shared, key, err := v1.Derive(e.Private, h.PublicKey)
	dh.Wipe(e.Private[:])
	dh.Wipe(shared[:])
	if err != nil {
		return nil, err
	}
	s, o := v1.Frames(key)
	dh.Wipe(key[:])
	reply := v1.ServerHello{PublicKey: e.Public, Timestamp: now}.Encode()
	return &Accepted{Profile: ProfileV1, User: h.UserID, Reply: reply, Sealer: s, Opener: o}, nil
}

// decideV2 decides on message 1 b, carried in the server's shape with the
// tls filler (nil in other shapes). The order of section 12.1, item 2:
// auth_failed (the trial), bad_reserved, bad_shape for a tls filler the
// user did not make, the timestamp window, a replay, a low-order key. In
// the tls shape the filler's HMAC is computed on every flight that decoded,
// with the found user's filler key or, when the trial found none, with a
// key of no user's, so a refusal by the trial costs what an acceptance
// does (SPEC.md 11.8, 12.1); it is compared in constant time.
func (d *Decider) decideV2(b, filler []byte) (*Accepted, error) {
	a, err := d.v2.ReadHello(b)
	fillerOK := true
	if d.cfg.Shape.Kind == shape.TLS {
		k := d.noUserFiller
		if err == nil {
			k = d.fillerKeys[a.User]
		}
		fillerOK = k.OK(b, filler)
	}
	if err != nil {
		return nil, err
	}
	if !a.Payload.ReservedOK() {
		return nil, rerr.BadReserved
	}
	if !fillerOK {
		return nil, rerr.BadShape
	}
	now := d.cfg.Now()
	if !replay.InWindow(now, a.Payload.Timestamp, d.cfg.Window) {
		return nil, rerr.TimestampOutOfWindow
	}
	// The replay filter before any key is drawn or X25519 computed
	// (section 12.1); the entry's owner is the user whose PSK verified.
	if err := d.cfg.Filter.Check(a.User, a.ClientEPub, a.Payload.Timestamp, now); err != nil {
		return nil, err
	}
	e, err := dh.Generate(d.cfg.Rand)
	if err != nil {
		return nil, err
	}
	reply, keys, err := a.WriteHello(e)
	dh.Wipe(e.Private[:])
	if err != nil {
		return nil, err
	}
	s, o := keys.ServerFrames()
	return &Accepted{Profile: ProfileV2, User: a.User, Reply: reply, Sealer: s, Opener: o}, nil
}

// ParseUUID parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (or the 32 hex
// digits alone) into the 16 raw bytes.
func ParseUUID(s string) ([16]byte, bool) {
	var u [16]byte
	var digits []byte
	if len(s) == 36 {
		for i, c := range []byte(s) {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				if c != '-' {
					return u, false
				}
				continue
			}
			digits = append(digits, c)
		}
	} else if len(s) == 32 {
		digits = []byte(s)
	} else {
		return u, false
	}
	if _, err := hex.Decode(u[:], digits); err != nil {
		return u, false
	}
	return u, true
}

// FormatUUID formats 16 raw bytes as a UUID.
func FormatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
