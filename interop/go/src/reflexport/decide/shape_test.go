package decide

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"reflexport/dh"
	"reflexport/replay"
	"reflexport/rerr"
	"reflexport/shape"
	"reflexport/v1"
	"reflexport/v2"
)

func shapedDecider(acceptV1, acceptV2 bool, now int64, s shape.Shape) *Decider {
	return New(Config{AcceptV1: acceptV1, AcceptV2: acceptV2, Users: [][16]byte{alice},
		Filter: replay.New(100, 120), Now: func() int64 { return now }, Shape: s})
}

// shaped is msg1, written by a client of user u, in shape s: for tls with
// the filler made with u's filler key (SPEC.md 11.8).
func shaped(t *testing.T, s shape.Shape, u [16]byte, msg1 []byte) []byte {
	b, err := s.Encode(msg1, shape.NewFillerKey(v2.PSK(u)).Filler(msg1))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	httpShape = shape.Shape{Kind: shape.HTTP, Host: "cdn.example.com", Path: "/assets/"}
	tlsShape  = shape.Shape{Kind: shape.TLS, Host: "cdn.example.com"}
)

// N (section 12.1): 76 while v1-compat is accepted and the bytes held
// could still begin with the magic, else the shape's size.
func TestNeedFollowsTheShape(t *testing.T) {
	for _, c := range []struct {
		v1, v2 bool
		s      shape.Shape
		held   string
		want   int
	}{
		{false, true, shape.Shape{}, "", 76},
		{false, true, httpShape, "", 163},
		{false, true, httpShape, "RFXL", 163},
		{false, true, tlsShape, "\x16\x03", 181},
		{true, true, httpShape, "", 76},
		{true, true, httpShape, "R", 76},
		{true, true, httpShape, "RFX", 76},
		{true, true, httpShape, "RFXL and more", 76},
		{true, true, httpShape, "RFXx", 163},
		{true, true, httpShape, "G", 163},
		{true, true, tlsShape, "\x16", 181},
		{true, false, httpShape, "G", 76},
	} {
		d := shapedDecider(c.v1, c.v2, 0, c.s)
		if n := d.Need([]byte(c.held)); n != c.want {
			t.Errorf("v1 %v v2 %v %v %q: N %d, want %d", c.v1, c.v2, c.s.Kind, c.held, n, c.want)
		}
	}
	if n := shapedDecider(true, true, 0, httpShape).MaxFlight(); n != 163 {
		t.Errorf("MaxFlight %d", n)
	}
	if n := shapedDecider(true, false, 0, httpShape).MaxFlight(); n != 76 {
		t.Errorf("v1-only MaxFlight %d", n)
	}
}

// The shape is checked before the hello it carries; then the v2 order.
func TestShapedDecisions(t *testing.T) {
	for _, s := range []shape.Shape{httpShape, tlsShape} {
		for _, both := range []bool{false, true} {
			d := shapedDecider(both, true, 1000, s)
			good := shaped(t, s, alice, v2Hello(t, alice, v2.Payload{Timestamp: 1000}))
			a, err := d.Decide(good)
			if err != nil || a.Profile != ProfileV2 || len(a.Reply) != v2.ServerHelloSize {
				t.Fatalf("%v: genuine: %v", s.Kind, err)
			}
			if _, err := d.Decide(good); err != rerr.ReplayedHello {
				t.Fatalf("%v: replay: %v", s.Kind, err)
			}
			bad := shaped(t, s, alice, v2Hello(t, alice, v2.Payload{Timestamp: 1000}))
			bad[len(bad)-45] ^= 0x01 // a template byte (http: in "HTTP/1.1"; tls: supported_versions)
			if _, err := d.Decide(bad); err != rerr.BadShape {
				t.Fatalf("%v: damaged template: %v", s.Kind, err)
			}
			for _, c := range []struct {
				u    [16]byte
				msg1 []byte
				want error
			}{
				// A client of a user the server does not know (its
				// filler made with that user's key): the trial fails.
				{[16]byte{1}, v2Hello(t, [16]byte{1}, v2.Payload{Timestamp: 1000}), rerr.AuthFailed},
				{alice, v2Hello(t, alice, v2.Payload{Timestamp: 1000, Reserved: [4]byte{1}}), rerr.BadReserved},
				{alice, v2Hello(t, alice, v2.Payload{Timestamp: 0}), rerr.TimestampOutOfWindow},
			} {
				if _, err := d.Decide(shaped(t, s, c.u, c.msg1)); err != c.want {
					t.Fatalf("%v: got %v, want %v", s.Kind, err, c.want)
				}
			}
			// Message 1 unshaped is not this server's first flight: a
			// length error (a server reading it would call it short).
			if _, err := d.Decide(v2Hello(t, alice, v2.Payload{Timestamp: 1000})); err != rerr.TooShort {
				t.Fatalf("%v: raw message 1: %v", s.Kind, err)
			}
		}
	}
	// http and tls flights to a server of the other shape.
	m := v2Hello(t, alice, v2.Payload{Timestamp: 1000})
	for _, c := range []struct {
		server, client shape.Shape
	}{{httpShape, tlsShape}, {tlsShape, httpShape}} {
		d := shapedDecider(false, true, 1000, c.server)
		flight := shaped(t, c.client, alice, m)
		n := d.Need(flight)
		if len(flight) >= n {
			if _, err := d.Decide(flight[:n]); err != rerr.BadShape {
				t.Fatalf("%v flight to a %v server: %v", c.client.Kind, c.server.Kind, err)
			}
		} else if err := d.ShortFirstFlight(flight); err != rerr.TooShort {
			t.Fatalf("%v flight to a %v server: %v", c.client.Kind, c.server.Kind, err)
		}
	}
}

// v1-compat hellos are never shaped: a server accepting both decides a
// hello beginning with the magic on 76 bytes whatever its shape.
func TestV1IsNeverShaped(t *testing.T) {
	for _, s := range []shape.Shape{{}, httpShape, tlsShape} {
		d := shapedDecider(true, true, 1000, s)
		e, _ := dh.Generate(nil)
		h := v1Hello(alice, 1000, e.Public)
		if d.Need(h) != 76 {
			t.Fatalf("%v: N %d", s.Kind, d.Need(h))
		}
		a, err := d.Decide(h)
		if err != nil || a.Profile != ProfileV1 {
			t.Fatalf("%v: v1 hello: %v", s.Kind, err)
		}
	}
	// A v2-only shaped server: the magic means nothing; 76 bytes are short.
	h := v1Hello(alice, 1000, [32]byte{9})
	if err := shapedDecider(false, true, 1000, httpShape).ShortFirstFlight(h); err != rerr.TooShort {
		t.Fatal(err)
	}
	_ = v1.Magic
}

// The tls filler (SPEC.md 11.8, 12.1 item 2): the HMAC keyed with the
// user's filler key (HKDF of the PSK), computed on every flight that
// decodes (with a key of no user's when the trial finds none); bad_shape
// when the user the trial found did not make it, after bad_reserved and
// before the timestamp window and the replay filter (a flight refused for
// its filler takes no place in the filter). The trial failing comes first:
// another user's genuine flight is auth_failed, whatever its filler.
func TestTLSFiller(t *testing.T) {
	bob := [16]byte{0xbb}
	for _, both := range []bool{false, true} {
		d := New(Config{AcceptV1: both, AcceptV2: true, Users: [][16]byte{alice, bob},
			Filter: replay.New(100, 120), Now: func() int64 { return 1000 }, Shape: tlsShape})
		withFiller := func(msg1, f []byte) []byte {
			b, err := tlsShape.Encode(msg1, f)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		m := v2Hello(t, alice, v2.Payload{Timestamp: 1000})
		good := shaped(t, tlsShape, alice, m)
		pa, pb := v2.PSK(alice), v2.PSK(bob)
		ka, kb := shape.NewFillerKey(pa), shape.NewFillerKey(pb)
		// The filler as it was before it had a key of its own: the HMAC
		// keyed with the PSK itself.
		oldStyle := func(psk [32]byte, msg1 []byte) []byte {
			h := hmac.New(sha256.New, psk[:])
			h.Write(msg1)
			return h.Sum(nil)[:shape.FillerSize]
		}
		random := make([]byte, shape.FillerSize)
		rand.Read(random)
		for _, c := range []struct {
			name   string
			flight []byte
			want   error
		}{
			{"random filler", withFiller(m, random), rerr.BadShape},
			{"zero filler", withFiller(m, make([]byte, shape.FillerSize)), rerr.BadShape},
			{"another user's filler", withFiller(m, kb.Filler(m)), rerr.BadShape},
			{"filler of another message 1", withFiller(m, ka.Filler(v2Hello(t, alice, v2.Payload{Timestamp: 1000}))), rerr.BadShape},
			{"filler keyed with the PSK itself", withFiller(m, oldStyle(pa, m)), rerr.BadShape},
			{"unknown user, filler keyed with its PSK", withFiller(v2Hello(t, [16]byte{1}, v2.Payload{Timestamp: 1000}), oldStyle(v2.PSK([16]byte{1}), m)), rerr.AuthFailed},
			{"unknown user, alice's filler", withFiller(v2Hello(t, [16]byte{1}, v2.Payload{Timestamp: 1000}), ka.Filler(m)), rerr.AuthFailed},
			{"bad filler, unknown user, bad reserved", withFiller(v2Hello(t, [16]byte{1}, v2.Payload{Timestamp: 1000, Reserved: [4]byte{1}}), random), rerr.AuthFailed},
			{"bad filler, bad reserved", shaped(t, tlsShape, bob, v2Hello(t, alice, v2.Payload{Timestamp: 1000, Reserved: [4]byte{0, 0, 0, 1}})), rerr.BadReserved},
			{"bad filler, stale timestamp", shaped(t, tlsShape, bob, v2Hello(t, alice, v2.Payload{Timestamp: 0})), rerr.BadShape},
			{"unknown user", shaped(t, tlsShape, [16]byte{1}, v2Hello(t, [16]byte{1}, v2.Payload{Timestamp: 1000})), rerr.AuthFailed},
		} {
			if _, err := d.Decide(c.flight); err != c.want {
				t.Fatalf("v1 too %v: %s: %v, want %v", both, c.name, err, c.want)
			}
		}
		// One byte of the filler changed (flight offsets 56, 60, 75:
		// its first, one inside, its last), one bit or all of them.
		for _, off := range []int{56, 60, 75} {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				b := append([]byte(nil), good...)
				b[off] ^= x
				if _, err := d.Decide(b); err != rerr.BadShape {
					t.Fatalf("v1 too %v: filler byte %d ^ %02x: %v", both, off, x, err)
				}
			}
		}
		// None of them took a place in the replay filter: the genuine
		// flight is accepted (as alice), then is a replay.
		a, err := d.Decide(good)
		if err != nil || a.User != alice {
			t.Fatalf("v1 too %v: genuine after refusals: %v", both, err)
		}
		if _, err := d.Decide(good); err != rerr.ReplayedHello {
			t.Fatalf("v1 too %v: replay: %v", both, err)
		}
		// bob's flight passes with bob's filler.
		mb := v2Hello(t, bob, v2.Payload{Timestamp: 1000})
		if a, err := d.Decide(shaped(t, tlsShape, bob, mb)); err != nil || a.User != bob {
			t.Fatalf("v1 too %v: bob: %v", both, err)
		}
	}
	// The raw and http shapes carry no filler.
	for _, s := range []shape.Shape{{}, httpShape} {
		d := shapedDecider(false, true, 1000, s)
		b, err := s.Encode(v2Hello(t, alice, v2.Payload{Timestamp: 1000}), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decide(b); err != nil {
			t.Fatalf("%v: %v", s.Kind, err)
		}
	}
}
