package socks5

import (
	"bytes"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"reflexport/header"
)

// rw reads from in and records what is written in out.
type rw struct {
	in  io.Reader
	out bytes.Buffer
}

func (c *rw) Read(p []byte) (int, error)  { return c.in.Read(p) }
func (c *rw) Write(p []byte) (int, error) { return c.out.Write(p) }
func (c *rw) Bytes() []byte               { return c.out.Bytes() }

func TestConnectDomain(t *testing.T) {
	in := []byte{5, 2, 2, 0, 5, 1, 0, 3, 11}
	in = append(in, "example.com"...)
	in = append(in, 1, 187)
	c := &rw{in: bytes.NewReader(in)}
	h, err := Accept(c)
	if err != nil {
		t.Fatal(err)
	}
	if h.AddrType != header.Domain || string(h.Addr) != "example.com" || h.Port != 443 || h.Command != header.CommandTCP {
		t.Fatalf("%+v", h)
	}
	if !bytes.Equal(c.Bytes(), []byte{5, 0}) {
		t.Fatalf("%x", c.Bytes())
	}
}

func TestRefusals(t *testing.T) {
	c := &rw{in: bytes.NewReader([]byte{5, 1, 2})}
	if _, err := Accept(c); err != ErrRefused || !bytes.Equal(c.Bytes(), []byte{5, 0xff}) {
		t.Fatalf("no acceptable method: %v %x", err, c.Bytes())
	}
	c = &rw{in: bytes.NewReader([]byte{5, 1, 0, 5, 2, 0, 1, 1, 2, 3, 4, 0, 80})}
	if _, err := Accept(c); err != ErrRefused || c.Bytes()[3] != CommandNotSupported {
		t.Fatalf("bind: %v %x", err, c.Bytes())
	}
}

func TestReplyCode(t *testing.T) {
	if ReplyCode(syscall.ECONNREFUSED) != ConnectionRefused || ReplyCode(errors.New("x")) != GeneralFailure {
		t.Fatal("mapping")
	}
}

// UDP ASSOCIATE (RFC 1928 section 7) is the Reflex command UDP with the
// request's DST as given.
func TestUDPAssociate(t *testing.T) {
	c := &rw{in: bytes.NewReader([]byte{5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0x12, 0x34})}
	h, err := Accept(c)
	if err != nil || h.Command != header.CommandUDP || h.AddrType != header.IPv4 ||
		!bytes.Equal(h.Addr, []byte{0, 0, 0, 0}) || h.Port != 0x1234 {
		t.Fatalf("%+v %v", h, err)
	}
}

func TestReplyAddr(t *testing.T) {
	for _, c := range []struct {
		a    *net.UDPAddr
		want []byte
	}{
		{&net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 0x1f90}, []byte{5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90}},
		{&net.UDPAddr{IP: net.IPv6loopback, Port: 1}, append(append([]byte{5, 0, 0, 4}, net.IPv6loopback...), 0, 1)},
	} {
		var b bytes.Buffer
		if err := WriteReplyAddr(&b, Succeeded, c.a); err != nil || !bytes.Equal(b.Bytes(), c.want) {
			t.Errorf("%v: %x", c.a, b.Bytes())
		}
	}
}

func TestUDPPayload(t *testing.T) {
	if p, ok := UDPPayload([]byte{0, 0, 0, 1, 2}); !ok || !bytes.Equal(p, []byte{1, 2}) {
		t.Fatal("plain datagram")
	}
	if _, ok := UDPPayload([]byte{0, 0, 1, 1, 2}); ok {
		t.Fatal("a fragment is not passed on")
	}
	if _, ok := UDPPayload([]byte{0, 0}); ok {
		t.Fatal("too short")
	}
}
