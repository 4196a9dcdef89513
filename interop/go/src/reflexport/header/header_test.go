package header

import (
	"bytes"
	"testing"

	"reflexport/rerr"
)

func TestRoundTrip(t *testing.T) {
	for _, h := range []Header{
		{Command: 1, Port: 80, AddrType: IPv4, Addr: []byte{10, 0, 0, 1}},
		{Command: 1, Port: 443, AddrType: IPv6, Addr: bytes.Repeat([]byte{1}, 16)},
		{Command: 2, Port: 53, AddrType: Domain, Addr: []byte("x")},
		{Command: 1, Port: 65535, AddrType: Domain, Addr: bytes.Repeat([]byte("a"), 255)},
	} {
		b, err := h.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := Decode(append(b, "data"...))
		if err != nil || n != len(b) || got.Port != h.Port || got.Command != h.Command || !bytes.Equal(got.Addr, h.Addr) {
			t.Fatalf("%v: got %v %d %v", h, got, n, err)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		in   []byte
		want error
	}{
		{nil, rerr.TooShort},
		{[]byte{1, 0, 80}, rerr.TooShort},
		{[]byte{1, 0, 80, 1, 10}, rerr.TooShort},
		{[]byte{1, 0, 80, 3}, rerr.TooShort},
		{[]byte{1, 0, 80, 3, 0}, rerr.BadDomainLength},
		{[]byte{1, 0, 80, 3, 2, 'a'}, rerr.TooShort},
		{[]byte{1, 0, 80, 2, 1, 2, 3, 4}, rerr.BadAddressType},
		{[]byte{1, 0, 80, 0}, rerr.BadAddressType},
	} {
		if _, _, err := Decode(c.in); err != c.want {
			t.Errorf("%x: got %v, want %v", c.in, err, c.want)
		}
	}
}

func TestHostPort(t *testing.T) {
	h := Header{Port: 8080, AddrType: IPv6, Addr: append(make([]byte, 15), 1)}
	if got := h.HostPort(); got != "[::1]:8080" {
		t.Fatal(got)
	}
}
