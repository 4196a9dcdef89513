package tunnel

import (
	"io"
	"net"
	"testing"

	"reflexport/frame"
	"reflexport/rerr"
	"reflexport/v1"
)

func sessions(t *testing.T) (*Session, *Session) {
	a, b := net.Pipe()
	key := [32]byte{7}
	s1, o1 := v1.Frames(key)
	s2, o2 := v1.Frames(key)
	return New(a, s1, o1), New(b, s2, o2)
}

func TestCloseSemantics(t *testing.T) {
	x, y := sessions(t)
	go func() {
		x.send(frame.Padding, make([]byte, 10))
		x.SendData([]byte("hi"))
		x.SendData(nil)
		x.SendClose([]byte{5})
		if err := x.SendData([]byte("late")); err != rerr.Closed {
			t.Errorf("send after own CLOSE: %v", err)
		}
		x.conn.Close()
	}()
	expect := []struct {
		t frame.Type
		p string
	}{{frame.Data, "hi"}, {frame.Data, ""}, {frame.Close, "\x05"}}
	for i, e := range expect {
		typ, p, err := y.Recv()
		if err != nil || typ != e.t || string(p) != e.p {
			t.Fatalf("frame %d: %v %q %v", i, typ, p, err)
		}
	}
	if _, _, err := y.Recv(); err != io.EOF {
		t.Fatalf("end after CLOSE: %v", err)
	}
}

func TestFrameAfterClose(t *testing.T) {
	x, y := sessions(t)
	go func() {
		x.SendClose(nil)
		// Forge a frame after CLOSE with the sealer directly.
		w, _ := x.sealer.Seal(nil, frame.Data, []byte("x"))
		x.conn.Write(w)
		x.conn.Close()
	}()
	if typ, _, err := y.Recv(); err != nil || typ != frame.Close {
		t.Fatal(err)
	}
	if _, _, err := y.Recv(); err != rerr.FrameAfterClose {
		t.Fatalf("got %v", err)
	}
}

func TestAbruptEnd(t *testing.T) {
	x, y := sessions(t)
	go x.conn.Close()
	if _, _, err := y.Recv(); err != io.ErrUnexpectedEOF {
		t.Fatalf("got %v", err)
	}
}

// Frames read with the hello (bytes past it in the same read) come first.
func TestPrefixIsReadFirst(t *testing.T) {
	a, b := net.Pipe()
	key := [32]byte{7}
	s1, _ := v1.Frames(key)
	_, o2 := v1.Frames(key)
	w1, _ := s1.Seal(nil, frame.Data, []byte("one"))
	w2, _ := s1.Seal(nil, frame.Data, []byte("two"))
	w3, _ := s1.Seal(nil, frame.Close, nil)
	// The prefix ends inside the second frame.
	prefix := append(append([]byte{}, w1...), w2[:5]...)
	y := NewWithPrefix(b, nil, o2, prefix)
	go func() {
		a.Write(w2[5:])
		a.Write(w3)
		a.Close()
	}()
	for _, want := range []string{"one", "two"} {
		if typ, p, err := y.Recv(); err != nil || typ != frame.Data || string(p) != want {
			t.Fatalf("%v %q %v, want %q", typ, p, err, want)
		}
	}
	if typ, _, err := y.Recv(); err != nil || typ != frame.Close {
		t.Fatalf("%v %v", typ, err)
	}
}

// SendFrame is one frame whatever its size; above 16384 it refuses and the
// session goes on (a datagram too large is dropped, not a session error).
func TestSendFrame(t *testing.T) {
	x, y := sessions(t)
	go func() {
		if err := x.SendFrame(make([]byte, frame.MaxPayload+1)); err != rerr.FrameTooLarge {
			t.Errorf("16385 bytes: %v", err)
		}
		x.SendFrame(make([]byte, frame.MaxPayload))
		x.SendFrame(nil)
		x.SendClose(nil)
		x.conn.Close()
	}()
	for i, want := range []int{frame.MaxPayload, 0} {
		typ, p, err := y.Recv()
		if err != nil || typ != frame.Data || len(p) != want {
			t.Fatalf("frame %d: %v %d bytes %v", i, typ, len(p), err)
		}
	}
	if typ, _, err := y.Recv(); err != nil || typ != frame.Close {
		t.Fatalf("then %v %v", typ, err)
	}
}
