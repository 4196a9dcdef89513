package datagram

import (
	"bytes"
	"net"
	"testing"
	"time"

	"reflexport/rerr"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		d    Datagram
		want []byte
	}{
		{Datagram{IPv4, []byte{10, 0, 0, 1}, 53, []byte("q")}, []byte{1, 10, 0, 0, 1, 0, 53, 'q'}},
		{Datagram{IPv4, []byte{10, 0, 0, 1}, 65535, []byte{}}, []byte{1, 10, 0, 0, 1, 0xff, 0xff}},
		{Datagram{Domain, []byte("a.b"), 443, []byte{9, 9}}, []byte{3, 3, 'a', '.', 'b', 1, 0xbb, 9, 9}},
		{Datagram{IPv6, bytes.Repeat([]byte{0xfe}, 16), 1, nil},
			append(append([]byte{4}, bytes.Repeat([]byte{0xfe}, 16)...), 0, 1)},
	} {
		b, err := c.d.Encode()
		if err != nil || !bytes.Equal(b, c.want) {
			t.Fatalf("%v: encoded %x (%v), want %x", c.d, b, err, c.want)
		}
		got, err := Decode(b)
		if err != nil || got.AddrType != c.d.AddrType || got.Port != c.d.Port ||
			!bytes.Equal(got.Addr, c.d.Addr) || !bytes.Equal(got.Data, c.d.Data) {
			t.Fatalf("%x: decoded %v (%v)", b, got, err)
		}
		// The port comes after the address (15.2), not before as in the
		// request header.
		if b[len(b)-len(c.d.Data)-2] != byte(c.d.Port>>8) {
			t.Fatalf("%x: port not after the address", b)
		}
	}
}

// The errors of SPEC.md 15.2, in its order: size first, then front to
// back.
func TestDecodeErrors(t *testing.T) {
	big := make([]byte, MaxPayload+1)
	big[0] = IPv4
	for _, c := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, rerr.TooShort},
		{"above 16384, even a bad type", append([]byte{9}, make([]byte, MaxPayload)...), rerr.FrameTooLarge},
		{"above 16384", big, rerr.FrameTooLarge},
		{"type 0", []byte{0, 1, 2, 3, 4, 5, 6}, rerr.BadAddressType},
		{"type 2 alone", []byte{2}, rerr.BadAddressType},
		{"domain without its length", []byte{3}, rerr.TooShort},
		{"domain of length 0", []byte{3, 0, 0, 53}, rerr.BadDomainLength},
		{"domain cut", []byte{3, 5, 'a', 'b'}, rerr.TooShort},
		{"domain without port", []byte{3, 1, 'a', 0}, rerr.TooShort},
		{"IPv4 cut", []byte{1, 10, 0, 0}, rerr.TooShort},
		{"IPv4 without port", []byte{1, 10, 0, 0, 1, 0}, rerr.TooShort},
		{"IPv6 cut", append([]byte{4}, make([]byte, 17)...), rerr.TooShort},
	} {
		if _, err := Decode(c.in); err != c.want {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

// The largest datagrams (15.2): 16377 bytes with IPv4, 16365 with IPv6,
// 16380 - n with an n-byte domain; one more is refused, nothing appended.
func TestLargest(t *testing.T) {
	for _, c := range []struct {
		d   Datagram
		max int
	}{
		{Datagram{AddrType: IPv4, Addr: make([]byte, 4)}, MaxIPv4Data},
		{Datagram{AddrType: IPv6, Addr: make([]byte, 16)}, MaxIPv6Data},
		{Datagram{AddrType: Domain, Addr: []byte("x")}, 16379},
		{Datagram{AddrType: Domain, Addr: bytes.Repeat([]byte("x"), 255)}, 16380 - 255},
	} {
		c.d.Data = make([]byte, c.max)
		b, err := c.d.Encode()
		if err != nil || len(b) != MaxPayload {
			t.Fatalf("%v: %d bytes, %v", c.d, len(b), err)
		}
		if _, err := Decode(b); err != nil {
			t.Fatal(err)
		}
		c.d.Data = make([]byte, c.max+1)
		if out, err := c.d.Append([]byte{7}); err != rerr.FrameTooLarge || !bytes.Equal(out, []byte{7}) {
			t.Fatalf("%v: %x, %v", c.d, out, err)
		}
	}
}

func TestEncodeRefusals(t *testing.T) {
	for _, c := range []struct {
		d    Datagram
		want error
	}{
		{Datagram{AddrType: 2, Addr: make([]byte, 4)}, rerr.BadAddressType},
		{Datagram{AddrType: IPv4, Addr: make([]byte, 16)}, rerr.InvalidArgument},
		{Datagram{AddrType: IPv6, Addr: make([]byte, 4)}, rerr.InvalidArgument},
		{Datagram{AddrType: Domain}, rerr.BadDomainLength},
		{Datagram{AddrType: Domain, Addr: make([]byte, 256)}, rerr.InvalidArgument},
	} {
		if _, err := c.d.Encode(); err != c.want {
			t.Errorf("%v: got %v, want %v", c.d, err, c.want)
		}
	}
}

// A source is always an IP address; IPv4-mapped IPv6 is sent as IPv4.
func TestFrom(t *testing.T) {
	for _, c := range []struct {
		ip   net.IP
		typ  byte
		addr []byte
	}{
		{net.ParseIP("192.0.2.7"), IPv4, []byte{192, 0, 2, 7}},
		{net.ParseIP("::ffff:192.0.2.7"), IPv4, []byte{192, 0, 2, 7}},
		{net.IPv4(192, 0, 2, 7).To4(), IPv4, []byte{192, 0, 2, 7}},
		{net.ParseIP("2001:db8::1"), IPv6, net.ParseIP("2001:db8::1")},
	} {
		d := From(&net.UDPAddr{IP: c.ip, Port: 5353}, []byte("x"))
		if d.AddrType != c.typ || !bytes.Equal(d.Addr, c.addr) || d.Port != 5353 {
			t.Errorf("%v: got %v", c.ip, d)
		}
	}
}

// The wildcard socket reaches IPv4 (dual-stack, or IPv4 only); sends and
// receives carry the peer's address; port 0 is no route.
func TestSocket(t *testing.T) {
	s, err := Listen(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	pa := peer.LocalAddr().(*net.UDPAddr)
	if err := s.SendNow([]byte("hi"), &net.UDPAddr{IP: pa.IP, Port: 0}); err != ErrNoRoute {
		t.Fatalf("port 0: %v", err)
	}
	for _, payload := range [][]byte{{}, []byte("hello")} {
		if err := s.SendNow(payload, pa); err != nil {
			t.Fatal(err)
		}
		peer.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 100)
		n, from, err := peer.ReadFromUDP(buf)
		if err != nil || !bytes.Equal(buf[:n], payload) {
			t.Fatalf("peer got %q %v", buf[:n], err)
		}
		if _, err := peer.WriteToUDP(append(payload, '!'), from); err != nil {
			t.Fatal(err)
		}
		buf = make([]byte, RecvBuffer)
		n, src, trunc, _, err := s.Recv(buf)
		if err != nil || trunc || !bytes.Equal(buf[:n], append(payload, '!')) {
			t.Fatalf("socket got %q %v %v", buf[:n], trunc, err)
		}
		if d := From(src, nil); d.AddrType != IPv4 || int(d.Port) != pa.Port {
			t.Fatalf("source %v read as %v", src, d)
		}
	}
	// A datagram longer than the buffer is reported, not passed on cut.
	to := &net.UDPAddr{IP: pa.IP, Port: s.LocalAddr().Port}
	if _, err := peer.WriteToUDP(make([]byte, 200), to); err != nil {
		t.Fatal(err)
	}
	if _, _, trunc, _, err := s.Recv(make([]byte, 100)); err != nil || !trunc {
		t.Fatalf("200 bytes into 100: truncated %v, %v", trunc, err)
	}
}

// An IPv4 socket cannot send to IPv6 (no route), and says so at once.
func TestIPv4SocketRefusesIPv6(t *testing.T) {
	s, err := Listen(net.IPv4(127, 0, 0, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.CanReach(net.IPv6loopback) || !s.CanReach(net.ParseIP("::ffff:127.0.0.1")) {
		t.Fatal("CanReach")
	}
	if err := s.SendNow(nil, &net.UDPAddr{IP: net.IPv6loopback, Port: 9}); err != ErrNoRoute {
		t.Fatal(err)
	}
}
