package v1

import (
	"encoding/hex"
	"testing"

	"reflexport/dh"
	"reflexport/rerr"
)

func h32(s string) (b [32]byte) {
	x, _ := hex.DecodeString(s)
	copy(b[:], x)
	return
}

func TestRFC7748KeyExchange(t *testing.T) {
	alice := h32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	bob := h32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	s1, k1, err1 := Derive(alice, dh.PublicKey(bob))
	s2, k2, err2 := Derive(bob, dh.PublicKey(alice))
	if err1 != nil || err2 != nil || s1 != s2 || k1 != k2 {
		t.Fatal("sides disagree")
	}
	if s1 != h32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742") {
		t.Fatalf("shared %x", s1)
	}
	if _, _, err := Derive(alice, [32]byte{1}); err != rerr.LowOrderPoint {
		t.Fatalf("u=1: %v", err)
	}
}

func TestHellos(t *testing.T) {
	h := ClientHello{PublicKey: [32]byte{9}, UserID: [16]byte{1}, Timestamp: -1, Nonce: [16]byte{2}}
	b := h.Encode()
	if len(b) != ClientHelloSize || string(b[:4]) != "RFXL" {
		t.Fatalf("%x", b)
	}
	got, err := DecodeClientHello(b)
	if err != nil || got != h {
		t.Fatal(err)
	}
	if _, err := DecodeClientHello(b[:75]); err != rerr.TooShort {
		t.Fatal(err)
	}
	if _, err := DecodeClientHello(append(b, 0)); err != rerr.TrailingBytes {
		t.Fatal(err)
	}
	b[0] = 'G'
	if _, err := DecodeClientHello(b); err != rerr.BadMagic {
		t.Fatal(err)
	}
	sh := ServerHello{PublicKey: [32]byte{7}, Timestamp: 1700000001}
	sg, err := DecodeServerHello(sh.Encode())
	if err != nil || sg != sh {
		t.Fatal(err)
	}
	if _, err := DecodeServerHello(make([]byte, 41)); err != rerr.TrailingBytes {
		t.Fatal(err)
	}
}
