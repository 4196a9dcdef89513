package decide

import (
	"crypto/rand"
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

func shaped(t *testing.T, s shape.Shape, msg1 []byte) []byte {
	f := make([]byte, shape.FillerSize)
	rand.Read(f)
	b, err := s.Encode(msg1, f)
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
			good := shaped(t, s, v2Hello(t, alice, v2.Payload{Timestamp: 1000}))
			a, err := d.Decide(good)
			if err != nil || a.Profile != ProfileV2 || len(a.Reply) != v2.ServerHelloSize {
				t.Fatalf("%v: genuine: %v", s.Kind, err)
			}
			if _, err := d.Decide(good); err != rerr.ReplayedHello {
				t.Fatalf("%v: replay: %v", s.Kind, err)
			}
			bad := shaped(t, s, v2Hello(t, alice, v2.Payload{Timestamp: 1000}))
			bad[len(bad)-45] ^= 0x01 // a template byte (http: in "HTTP/1.1"; tls: supported_versions)
			if _, err := d.Decide(bad); err != rerr.BadShape {
				t.Fatalf("%v: damaged template: %v", s.Kind, err)
			}
			for _, c := range []struct {
				msg1 []byte
				want error
			}{
				{v2Hello(t, [16]byte{1}, v2.Payload{Timestamp: 1000}), rerr.AuthFailed},
				{v2Hello(t, alice, v2.Payload{Timestamp: 1000, Reserved: [4]byte{1}}), rerr.BadReserved},
				{v2Hello(t, alice, v2.Payload{Timestamp: 0}), rerr.TimestampOutOfWindow},
			} {
				if _, err := d.Decide(shaped(t, s, c.msg1)); err != c.want {
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
		flight := shaped(t, c.client, m)
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
