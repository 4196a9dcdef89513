package decide

import (
	"bytes"
	"crypto/rand"
	"sync/atomic"
	"testing"

	"reflexport/dh"
	"reflexport/replay"
	"reflexport/rerr"
	"reflexport/v1"
	"reflexport/v2"
)

var alice = [16]byte{0xaa}

func decider(acceptV1, acceptV2 bool, now int64) *Decider {
	return New(Config{AcceptV1: acceptV1, AcceptV2: acceptV2, Users: [][16]byte{alice},
		Filter: replay.New(100, 120), Now: func() int64 { return now }})
}

func v1Hello(user [16]byte, ts int64, pub [32]byte) []byte {
	return v1.ClientHello{PublicKey: pub, UserID: user, Timestamp: ts}.Encode()
}

func v2Hello(t *testing.T, user [16]byte, p v2.Payload) []byte {
	e, _ := v2.ClientEphemeral(nil)
	c, _ := v2.NewClient(user, e)
	m, err := c.WriteHello(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestV1Order(t *testing.T) {
	d := decider(true, false, 1000)
	e, _ := dh.Generate(nil)
	cases := []struct {
		hello []byte
		want  error
	}{
		{v1Hello([16]byte{1}, 0, [32]byte{}), rerr.UnknownUser},
		{v1Hello(alice, 0, [32]byte{}), rerr.TimestampOutOfWindow},
		{v1Hello(alice, 1000, [32]byte{}), rerr.LowOrderPoint},
		{v1Hello(alice, 1000, e.Public), nil},
		{v1Hello(alice, 1001, e.Public), rerr.ReplayedHello},
	}
	for i, c := range cases {
		a, err := d.Decide(c.hello)
		if err != c.want {
			t.Fatalf("case %d: got %v, want %v", i, err, c.want)
		}
		if err == nil && (a.Profile != ProfileV1 || len(a.Reply) != v1.ServerHelloSize) {
			t.Fatalf("case %d: %+v", i, a)
		}
	}
	// A v1 hello to a v2-only server is a failed trial.
	if _, err := decider(false, true, 1000).Decide(v1Hello(alice, 1000, e.Public)); err != rerr.AuthFailed {
		t.Fatalf("v1 hello to v2: %v", err)
	}
}

func TestV2Order(t *testing.T) {
	d := decider(true, true, 1000)
	cases := []struct {
		hello []byte
		want  error
	}{
		{v2Hello(t, [16]byte{1}, v2.Payload{Timestamp: 1000}), rerr.AuthFailed},
		{v2Hello(t, alice, v2.Payload{Timestamp: 0, Reserved: [4]byte{0, 0, 0, 1}}), rerr.BadReserved},
		{v2Hello(t, alice, v2.Payload{Timestamp: 0}), rerr.TimestampOutOfWindow},
		{v2Hello(t, alice, v2.Payload{Timestamp: 1000}), nil},
	}
	for i, c := range cases {
		a, err := d.Decide(c.hello)
		if err != c.want {
			t.Fatalf("case %d: got %v, want %v", i, err, c.want)
		}
		if err == nil && (a.Profile != ProfileV2 || len(a.Reply) != v2.ServerHelloSize) {
			t.Fatalf("case %d: %+v", i, a)
		}
		if err == nil {
			if _, err := d.Decide(c.hello); err != rerr.ReplayedHello {
				t.Fatalf("replay: %v", err)
			}
		}
	}
}

func TestV2LowOrderClientKey(t *testing.T) {
	c, _ := v2.NewClient(alice, dh.KeyPair{}) // public key zero: low order
	m, _ := c.WriteHello(v2.Payload{Timestamp: 1000})
	if _, err := decider(false, true, 1000).Decide(m); err != rerr.LowOrderPoint {
		t.Fatalf("got %v", err)
	}
}

// countingReader counts the random bytes the server draws.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := rand.Read(p)
	atomic.AddInt64(&c.n, int64(n))
	return n, err
}

func (c *countingReader) take() int64 { return atomic.SwapInt64(&c.n, 0) }

// A replayed hello is refused before the server draws a key (and so before
// any X25519 with it): it costs what a hello of random bytes does (section
// 12.1). Both profiles, and a replayed low-order key too.
func TestReplayRefusedBeforeKeyWork(t *testing.T) {
	rnd := &countingReader{}
	d := New(Config{AcceptV1: true, AcceptV2: true, Users: [][16]byte{alice},
		Filter: replay.New(100, 120), Now: func() int64 { return 1000 }, Rand: rnd})
	e, _ := dh.Generate(nil)
	for _, c := range []struct {
		name  string
		hello []byte
		first error
	}{
		{"v1", v1Hello(alice, 1000, e.Public), nil},
		{"v2", v2Hello(t, alice, v2.Payload{Timestamp: 1000}), nil},
		{"v1 low order", v1Hello(alice, 999, [32]byte{}), rerr.LowOrderPoint},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := d.Decide(c.hello); err != c.first {
				t.Fatalf("got %v, want %v", err, c.first)
			}
			if n := rnd.take(); n != 32 {
				t.Fatalf("first hello drew %d random bytes, want 32", n)
			}
			for i := 0; i < 3; i++ {
				if _, err := d.Decide(c.hello); err != rerr.ReplayedHello {
					t.Fatalf("replay: %v", err)
				}
				if n := rnd.take(); n != 0 {
					t.Fatalf("replay drew %d random bytes", n)
				}
			}
		})
	}
}

// A v2 hello with a low-order key takes its place in the filter before it
// is refused: its replay is replayed_hello (section 12.1's order).
func TestV2LowOrderReplayed(t *testing.T) {
	c, _ := v2.NewClient(alice, dh.KeyPair{})
	m, _ := c.WriteHello(v2.Payload{Timestamp: 1000})
	d := decider(false, true, 1000)
	if _, err := d.Decide(m); err != rerr.LowOrderPoint {
		t.Fatalf("got %v", err)
	}
	if _, err := d.Decide(m); err != rerr.ReplayedHello {
		t.Fatalf("replay: got %v", err)
	}
}

// One user flooding a small filter with hellos stamped at now + window
// (in v1 anyone who saw one of its hellos can make more) does not lock
// another user out: the owner of an entry is the hello's user (v1: the id
// in the hello; v2: the user whose PSK verified), and only the flooder's
// floor rises.
func TestFloodLocksOutOnlyTheFlooder(t *testing.T) {
	const now, window = 1000, 120
	mallory := [16]byte{0x66}
	for _, profile := range []string{ProfileV1, ProfileV2} {
		t.Run(profile, func(t *testing.T) {
			d := New(Config{AcceptV1: true, AcceptV2: true, Users: [][16]byte{alice, mallory},
				Filter: replay.New(4, window), Now: func() int64 { return now }})
			hello := func(user [16]byte, ts int64) []byte {
				if profile == ProfileV1 {
					e, _ := dh.Generate(nil)
					return v1Hello(user, ts, e.Public)
				}
				return v2Hello(t, user, v2.Payload{Timestamp: ts})
			}
			for i := 0; i < 8; i++ {
				// Four fill the filter; once alice's hello has evicted one,
				// mallory's floor is now + window and the rest are refused.
				want := error(nil)
				if i >= 4 {
					want = rerr.ReplayedHello
				}
				if _, err := d.Decide(hello(mallory, now+window)); err != want {
					t.Fatalf("flood %d: %v, want %v", i, err, want)
				}
				if i == 3 {
					// The filter is full of mallory's entries: alice's hello
					// stamped now - 30 is accepted.
					a, err := d.Decide(hello(alice, now-30))
					if err != nil {
						t.Fatalf("alice after the flood: %v", err)
					}
					if a.Profile != profile || a.User != alice {
						t.Fatalf("%+v", a)
					}
				}
			}
			// Mallory's later hellos below (or at) its floor are refused.
			for _, ts := range []int64{now, now - 30, now + window - 1} {
				if _, err := d.Decide(hello(mallory, ts)); err != rerr.ReplayedHello {
					t.Fatalf("mallory at %d: %v", ts, err)
				}
			}
			// Alice goes on being accepted.
			for i := int64(0); i < 3; i++ {
				if _, err := d.Decide(hello(alice, now-29+i)); err != nil {
					t.Fatalf("alice %d: %v", i, err)
				}
			}
		})
	}
}

func TestEarly(t *testing.T) {
	v1only, both := decider(true, false, 0), decider(true, true, 0)
	http := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	tls := []byte{22, 3, 1, 0, 3, 1, 2, 3}
	for _, c := range []struct {
		d       *Decider
		buf     []byte
		decided bool
		want    error
	}{
		{v1only, []byte("R"), false, nil},
		{v1only, []byte("RFXL"), false, nil},
		{v1only, []byte("RFXx"), true, rerr.BadMagic},
		{v1only, []byte("G"), true, rerr.BadMagic},
		{both, []byte("G"), false, nil},
		{both, http, true, rerr.TooShort},
		{both, http[:len(http)-1], false, nil},
		{both, tls, true, rerr.TooShort},
		{both, tls[:7], false, nil},
		{both, []byte{24, 3, 1, 0, 0}, false, nil},
	} {
		decided, err := c.d.Early(c.buf)
		if decided != c.decided || err != c.want {
			t.Errorf("%q: got %v %v", c.buf, decided, err)
		}
	}
}

// A short first flight is refused at once: too_short, unless Early has
// decided otherwise (bad_magic on a v1-only server); bytes that start like
// the magic or like nothing in particular are no reason to wait.
func TestShortFirstFlight(t *testing.T) {
	v1only, v2only, both := decider(true, false, 0), decider(false, true, 0), decider(true, true, 0)
	junk := make([]byte, HelloSize-1)
	rand.Read(junk)
	junk[0] = 'x'
	magic := append(append([]byte(nil), v1.Magic[:]...), junk[4:]...)
	for _, c := range []struct {
		d    *Decider
		buf  []byte
		want error
	}{
		{v2only, junk[:1], rerr.TooShort},
		{v2only, junk[:10], rerr.TooShort},
		{v2only, junk, rerr.TooShort},
		{both, junk[:10], rerr.TooShort},
		{both, magic[:10], rerr.TooShort},
		{both, []byte("GET / HTTP/1.1\r\n\r\n"), rerr.TooShort},
		{v1only, magic[:1], rerr.TooShort},
		{v1only, magic, rerr.TooShort},
		{v1only, junk[:10], rerr.BadMagic},
	} {
		if err := c.d.ShortFirstFlight(c.buf); err != c.want {
			t.Errorf("%q: got %v, want %v", c.buf, err, c.want)
		}
	}
}

func TestUUID(t *testing.T) {
	u, ok := ParseUUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
	if !ok || FormatUUID(u) != "6ba7b810-9dad-11d1-80b4-00c04fd430c8" {
		t.Fatal(u)
	}
	if _, ok := ParseUUID("6ba7b810+9dad-11d1-80b4-00c04fd430c8"); ok {
		t.Fatal("accepted")
	}
	u2, ok := ParseUUID("6BA7B8109DAD11D180B400C04FD430C8")
	if !ok || !bytes.Equal(u[:], u2[:]) {
		t.Fatal(u2)
	}
}
