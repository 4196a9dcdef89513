package frame

import (
	"bytes"
	"io"
	"math"
	"math/rand"
	"testing"

	"reflexport/rerr"
)

var testKey = [32]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}

func pair(v2 bool, start uint64) (*Sealer, *Opener) {
	if v2 {
		return NewSealer(NewV2AEAD(testKey), start, V2Counters.Last), NewOpener(NewV2AEAD(testKey), start, V2Counters.Last)
	}
	return NewSealer(NewV1AEAD(testKey), start, V1Counters.Last), NewOpener(NewV1AEAD(testKey), start, V1Counters.Last)
}

func TestRoundTripAndSizes(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		s, o := pair(v2, 0)
		for _, n := range []int{0, 1, 100, MaxPayload} {
			p := bytes.Repeat([]byte{0xab}, n)
			w, err := s.Seal(nil, Data, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(w) != n+Overhead {
				t.Fatalf("wire %d bytes for payload %d", len(w), n)
			}
			typ, got, err := o.Open(nil, w)
			if err != nil || typ != Data || !bytes.Equal(got, p) {
				t.Fatalf("open: %v %v", typ, err)
			}
		}
	}
}

func TestSealRefusals(t *testing.T) {
	s, o := pair(false, 1)
	if _, err := s.Seal(nil, Data, make([]byte, MaxPayload+1)); err != rerr.FrameTooLarge {
		t.Fatalf("got %v", err)
	}
	if _, err := s.Seal(nil, 5, nil); err != rerr.InvalidArgument {
		t.Fatalf("got %v", err)
	}
	// A refused seal uses no counter: the next frame opens at counter 1.
	w, _ := s.Seal(nil, Close, nil)
	if _, _, err := o.Open(nil, w); err != nil {
		t.Fatal(err)
	}
}

func TestCounterExhaustion(t *testing.T) {
	for _, c := range []struct {
		v2   bool
		last uint64
	}{{false, math.MaxUint64}, {true, math.MaxUint64 - 1}} {
		s, o := pair(c.v2, c.last)
		w, err := s.Seal(nil, Data, []byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := o.Open(nil, w); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Seal(nil, Data, nil); err != rerr.CounterExhausted {
			t.Fatalf("v2=%v seal after last: %v", c.v2, err)
		}
		if _, _, err := o.Open(nil, w); err != rerr.CounterExhausted {
			t.Fatalf("v2=%v open after last: %v", c.v2, err)
		}
	}
	// v2 never uses 2^64-1.
	s, _ := pair(true, math.MaxUint64)
	if _, err := s.Seal(nil, Data, nil); err != rerr.CounterExhausted {
		t.Fatalf("v2 at 2^64-1: %v", err)
	}
}

func TestOpenChecksAndFinalErrors(t *testing.T) {
	s, _ := pair(false, 1)
	w, _ := s.Seal(nil, Data, []byte("hello"))
	cases := []struct {
		wire []byte
		want error
	}{
		{nil, rerr.TooShort},
		{[]byte{0}, rerr.TooShort},
		{[]byte{0xff, 0xff}, rerr.FrameTooLarge},
		{[]byte{0x40, 0x12}, rerr.FrameTooLarge},
		{[]byte{0x00, 0x0f}, rerr.BadLength},
		{w[:len(w)-1], rerr.TooShort},
		{append(append([]byte{}, w...), 0), rerr.TrailingBytes},
	}
	for i, c := range cases {
		_, o := pair(false, 1)
		if _, _, err := o.Open(nil, c.wire); err != c.want {
			t.Errorf("case %d: got %v, want %v", i, err, c.want)
		}
		// Errors are final: even the good frame is refused now.
		if _, _, err := o.Open(nil, w); err != c.want {
			t.Errorf("case %d: not final: %v", i, err)
		}
	}
	_, o := pair(false, 2)
	if _, _, err := o.Open(nil, w); err != rerr.AuthFailed {
		t.Fatalf("wrong counter: %v", err)
	}
}

func randomStream(r *rand.Rand, v2 bool) ([]byte, [][]byte) {
	s, _ := pair(v2, 5)
	var wire []byte
	var payloads [][]byte
	for i := 0; i < 20; i++ {
		n := r.Intn(3000)
		if i == 7 {
			n = MaxPayload
		}
		p := make([]byte, n)
		r.Read(p)
		wire, _ = s.Seal(wire, Data, p)
		payloads = append(payloads, p)
	}
	return wire, payloads
}

func TestDecoderAnyChunking(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, v2 := range []bool{false, true} {
		wire, payloads := randomStream(r, v2)
		for trial := 0; trial < 30; trial++ {
			_, o := pair(v2, 5)
			d := NewDecoder(o)
			var got [][]byte
			for off := 0; off < len(wire); {
				n := 1 + r.Intn(1+r.Intn(20000))
				if off+n > len(wire) {
					n = len(wire) - off
				}
				if err := d.Write(wire[off:off+n], func(t Type, p []byte) error {
					got = append(got, append([]byte{}, p...))
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				off += n
			}
			if err := d.End(); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(payloads) {
				t.Fatalf("%d frames, want %d", len(got), len(payloads))
			}
			for i := range got {
				if !bytes.Equal(got[i], payloads[i]) {
					t.Fatalf("frame %d differs", i)
				}
			}
		}
	}
}

func TestDecoderRefusesLengthAtOnceAndEndsShort(t *testing.T) {
	_, o := pair(false, 1)
	d := NewDecoder(o)
	emit := func(Type, []byte) error { t.Fatal("emitted"); return nil }
	if err := d.Write([]byte{0xff}, emit); err != nil {
		t.Fatal(err)
	}
	if err := d.Write([]byte{0xff}, emit); err != rerr.FrameTooLarge {
		t.Fatalf("got %v", err)
	}
	if err := d.End(); err != rerr.FrameTooLarge {
		t.Fatalf("not final: %v", err)
	}
	_, o = pair(false, 1)
	d = NewDecoder(o)
	d.Write([]byte{0x00}, emit)
	if err := d.End(); err != rerr.TooShort {
		t.Fatalf("cut inside length: %v", err)
	}
}

func TestReader(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	wire, payloads := randomStream(r, true)
	_, o := pair(true, 5)
	fr := NewReader(bytes.NewReader(wire), o)
	for i := range payloads {
		typ, p, err := fr.ReadFrame()
		if err != nil || typ != Data || !bytes.Equal(p, payloads[i]) {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	if _, _, err := fr.ReadFrame(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	_, o = pair(true, 5)
	fr = NewReader(bytes.NewReader(wire[:len(wire)-1]), o)
	var err error
	for err == nil {
		_, _, err = fr.ReadFrame()
	}
	if err != rerr.TooShort {
		t.Fatalf("cut stream: %v", err)
	}
}
