package datagram

import (
	"errors"
	"net"
	"syscall"
)

// RecvBuffer is big enough for any UDP datagram (65507 bytes over IPv4,
// 65527 over IPv6), so a datagram too large for a frame is seen whole and
// dropped as such, never read cut.
const RecvBuffer = 65536

// ErrNoRoute is a destination the socket cannot send to at all: port 0,
// or an IPv6 address from an IPv4-only socket.
var ErrNoRoute = errors.New("datagram: no route from this socket (port 0, or an address family it lacks)")

// Socket is an unconnected UDP socket whose sends never wait: a send the
// system cannot take at once fails (SPEC.md 15.3: such a datagram is
// dropped and counted), so one slow destination never holds the others.
type Socket struct {
	conn *net.UDPConn
	raw  syscall.RawConn
	v4   bool // an AF_INET socket: IPv4 destinations only

	// Recv's (one goroutine at a time): the control data buffer, and the
	// system's drop count last reported.
	oob  [64]byte
	seen uint32
}

// Listen opens a socket on ip (zone for a link-local IPv6 address) and a
// port the system chooses. A nil ip is the wildcard: Go's "udp" network
// makes that a dual-stack [::] socket (IPv4 as IPv4-mapped addresses)
// where the system has IPv6, else 0.0.0.0 (SPEC.md 15.3).
func Listen(ip net.IP, zone string) (*Socket, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Zone: zone})
	if err != nil {
		return nil, err
	}
	raw, err := c.SyscallConn()
	if err != nil {
		c.Close()
		return nil, err
	}
	// The family is the bound address's: Go reports an AF_INET socket's
	// address as IPv4 ("0.0.0.0" for the wildcard) and an AF_INET6 one's
	// as IPv6 ("::"); an IPv4 ip is always bound with AF_INET.
	s := &Socket{conn: c, raw: raw, v4: c.LocalAddr().(*net.UDPAddr).IP.To4() != nil}
	countDrops(raw) // best effort: without it the system's drops go uncounted
	return s, nil
}

// LocalAddr is the bound address.
func (s *Socket) LocalAddr() *net.UDPAddr { return s.conn.LocalAddr().(*net.UDPAddr) }

// Close closes the socket; a Recv in progress returns an error.
func (s *Socket) Close() error { return s.conn.Close() }

// CanReach reports whether the socket can send to ip at all.
func (s *Socket) CanReach(ip net.IP) bool {
	if s.v4 {
		return ip.To4() != nil
	}
	return ip.To16() != nil
}

// SendNow sends b to `to` in one sendto(2) that does not wait (Go's
// WriteTo would wait for room in a full socket buffer): EAGAIN, or any
// other refusal, is the error.
func (s *Socket) SendNow(b []byte, to *net.UDPAddr) error {
	if to.Port <= 0 || to.Port > 65535 || !s.CanReach(to.IP) {
		return ErrNoRoute
	}
	var sa syscall.Sockaddr
	if s.v4 {
		a := &syscall.SockaddrInet4{Port: to.Port}
		copy(a.Addr[:], to.IP.To4())
		sa = a
	} else {
		a := &syscall.SockaddrInet6{Port: to.Port}
		copy(a.Addr[:], to.IP.To16()) // IPv4 as ::ffff:a.b.c.d
		if to.Zone != "" {
			if ifi, err := net.InterfaceByName(to.Zone); err == nil {
				a.ZoneId = uint32(ifi.Index)
			}
		}
		sa = a
	}
	var serr error
	// The function runs once and reports itself done whatever sendto
	// returned, so RawConn.Write never waits for writability.
	if err := s.raw.Write(func(fd uintptr) bool {
		for {
			serr = syscall.Sendto(int(fd), b, syscall.MSG_DONTWAIT, sa)
			if serr != syscall.EINTR {
				return true
			}
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &net.OpError{Op: "sendto", Net: "udp", Addr: to, Err: serr}
	}
	return nil
}

// Recv waits for one datagram and reads it into buf (RecvBuffer bytes hold
// any). truncated is a datagram longer than buf; dropped is how many
// datagrams the system dropped for want of room in the receive buffer
// since the last call that knew (SO_RXQ_OVFL, Linux; 0 elsewhere). Recv is
// called from one goroutine at a time.
func (s *Socket) Recv(buf []byte) (n int, from *net.UDPAddr, truncated bool, dropped uint32, err error) {
	n, oobn, flags, from, err := s.conn.ReadMsgUDP(buf, s.oob[:])
	if err != nil {
		return 0, nil, false, 0, err
	}
	if total, ok := dropCount(s.oob[:oobn]); ok && total > s.seen {
		dropped, s.seen = total-s.seen, total
	}
	return n, from, flags&syscall.MSG_TRUNC != 0, dropped, nil
}
