package v2

import (
	"bytes"
	"crypto/rand"
	"testing"

	"reflexport/dh"
	"reflexport/frame"
	"reflexport/rerr"
)

func handshake(t *testing.T, users [][16]byte, who [16]byte) (*Keys, *Keys, *Accepted, error) {
	e, err := ClientEphemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(who, e)
	if err != nil {
		t.Fatal(err)
	}
	msg1, err := c.WriteHello(Payload{Timestamp: 42, Nonce: [16]byte{1, 2, 3}})
	if err != nil || len(msg1) != ClientHelloSize {
		t.Fatalf("message 1: %d bytes, %v", len(msg1), err)
	}
	if !bytes.Equal(msg1[:32], e.Public[:]) {
		t.Fatal("message 1 does not start with e.pub")
	}
	a, err := NewServer(users).ReadHello(msg1)
	if err != nil {
		return nil, nil, nil, err
	}
	se, _ := dh.Generate(nil)
	msg2, skeys, err := a.WriteHello(se)
	if err != nil || len(msg2) != ServerHelloSize {
		t.Fatalf("message 2: %v", err)
	}
	ckeys, err := c.ReadHello(msg2)
	if err != nil {
		t.Fatal(err)
	}
	return ckeys, skeys, a, nil
}

func TestHandshakeManyUsers(t *testing.T) {
	users := [][16]byte{{1}, {2}, {3}}
	ck, sk, a, err := handshake(t, users, [16]byte{2})
	if err != nil {
		t.Fatal(err)
	}
	if a.User != ([16]byte{2}) || a.Payload.Timestamp != 42 || !a.Payload.ReservedOK() {
		t.Fatalf("accepted %+v", a.Payload)
	}
	if !bytes.Equal(ck.HandshakeHash, sk.HandshakeHash) {
		t.Fatal("hashes differ")
	}
	cs, co := ck.ClientFrames()
	ss, so := sk.ServerFrames()
	w, _ := cs.Seal(nil, frame.Data, []byte("up"))
	if _, p, err := so.Open(nil, w); err != nil || string(p) != "up" {
		t.Fatal(err)
	}
	// A reflected frame never authenticates (flaw 1 fixed).
	w2, _ := ss.Seal(nil, frame.Data, []byte("down"))
	if _, _, err := so.Open(nil, w2); err != rerr.AuthFailed {
		t.Fatalf("reflected: %v", err)
	}
	if _, p, err := co.Open(nil, w2); err != nil || string(p) != "down" {
		t.Fatal(err)
	}
}

func TestUnknownUser(t *testing.T) {
	if _, _, _, err := handshake(t, [][16]byte{{1}}, [16]byte{9}); err != rerr.AuthFailed {
		t.Fatalf("got %v", err)
	}
	s := NewServer([][16]byte{{1}})
	if _, err := s.ReadHello(make([]byte, 75)); err != rerr.TooShort {
		t.Fatal(err)
	}
	if _, err := s.ReadHello(make([]byte, 77)); err != rerr.TrailingBytes {
		t.Fatal(err)
	}
}

func TestLowOrderServerKey(t *testing.T) {
	e, _ := ClientEphemeral(nil)
	c, _ := NewClient([16]byte{1}, e)
	c.WriteHello(Payload{})
	if _, err := c.ReadHello(make([]byte, 48)); err != rerr.LowOrderPoint {
		t.Fatalf("got %v", err)
	}
}
