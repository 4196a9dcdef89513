package socks5

import (
	"bytes"
	"errors"
	"io"
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
