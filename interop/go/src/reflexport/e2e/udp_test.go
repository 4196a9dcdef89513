package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"reflexport/datagram"
	"reflexport/decide"
	"reflexport/server"
	"reflexport/socks5"
)

// lines passes on each line written to it (a server's log), for a test to
// wait for one.
type lines struct {
	mu      sync.Mutex
	partial []byte
	ch      chan string
}

func newLines() *lines { return &lines{ch: make(chan string, 1000)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		select {
		case l.ch <- string(l.partial[:i]):
		default: // a test waits for few lines; more are not kept
		}
		l.partial = l.partial[i+1:]
	}
}

func (l *lines) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case s := <-l.ch:
			if strings.Contains(s, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no log line with %q", want)
		}
	}
}

// udpEcho answers every datagram with itself, from ip and a port of its
// own; nil when ip cannot be listened on (no IPv6).
func udpEcho(t *testing.T, ip net.IP) *net.UDPAddr {
	pc, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		return nil
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, datagram.RecvBuffer)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			pc.WriteToUDP(buf[:n], from)
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

// socksAssociate asks for a UDP association (DST 0.0.0.0:dstPort) and
// returns the control connection, the reply code and the relay's address.
func socksAssociate(t *testing.T, socks string, dstPort int) (net.Conn, byte, *net.UDPAddr) {
	t.Helper()
	c, err := net.DialTimeout("tcp", socks, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	req := binary.BigEndian.AppendUint16([]byte{5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0}, uint16(dstPort))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var head [6]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		t.Fatal(err)
	}
	if head[0] != 5 || head[1] != 0 || head[2] != 5 {
		t.Fatalf("socks reply %x", head)
	}
	alen := map[byte]int{1: 4, 4: 16}[head[5]]
	if alen == 0 {
		t.Fatalf("reply address type %d", head[5])
	}
	rest := make([]byte, alen+2)
	if _, err := io.ReadFull(c, rest); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Time{})
	relay := &net.UDPAddr{IP: net.IP(rest[:alen]), Port: int(binary.BigEndian.Uint16(rest[alen:]))}
	return c, head[3], relay
}

// app is the application's UDP socket.
func app(t *testing.T) *net.UDPConn {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// socksDatagram is RSV FRAG || the 15.2 payload of d.
func socksDatagram(t *testing.T, d datagram.Datagram) []byte {
	t.Helper()
	b, err := d.Append([]byte{0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dest is a datagram of data to a.
func dest(a *net.UDPAddr, data []byte) datagram.Datagram { return datagram.From(a, data) }

// nextFrom reads the application's next datagram from relay within
// `within` (datagrams from elsewhere are skipped); nil when none came.
func nextFrom(t *testing.T, pc *net.UDPConn, relay *net.UDPAddr, within time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(within)
	buf := make([]byte, datagram.RecvBuffer)
	for i := 0; i < 100; i++ {
		pc.SetReadDeadline(deadline)
		n, from, err := pc.ReadFromUDP(buf)
		if err != nil {
			return nil
		}
		if from.IP.Equal(relay.IP) && from.Port == relay.Port {
			return append([]byte(nil), buf[:n]...)
		}
	}
	return nil
}

// roundTrip sends data to dst through the relay and waits for the answer
// from src: 00 00 00 || src's address form || data. UDP may lose a
// datagram: it is sent at most 3 times; the first datagram back must be
// the answer (earlier ones, dropped on the way, must not come back).
func roundTrip(t *testing.T, pc *net.UDPConn, relay *net.UDPAddr, dst datagram.Datagram, src *net.UDPAddr) {
	t.Helper()
	want := socksDatagram(t, datagram.From(src, dst.Data))
	for attempt := 0; attempt < 3; attempt++ {
		if _, err := pc.WriteToUDP(socksDatagram(t, dst), relay); err != nil {
			t.Fatal(err)
		}
		got := nextFrom(t, pc, relay, 3*time.Second)
		if got == nil {
			continue
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%v: got %d bytes %x..., want %d bytes %x...", dst, len(got), head(got), len(want), head(want))
		}
		return
	}
	t.Fatalf("%v: no answer", dst)
}

func head(b []byte) []byte {
	if len(b) > 24 {
		return b[:24]
	}
	return b
}

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Datagrams of 0, 1, 512, 1452 and 16377 bytes (the largest with an IPv4
// address) through the client's SOCKS5 relay and the server, in both
// profiles; then two destinations on the one association, IPv6 and a
// domain; the application closing the control connection ends the
// association at the server.
func TestUDPThroughSocks(t *testing.T) {
	echoA := udpEcho(t, net.IPv4(127, 0, 0, 1))
	echoB := udpEcho(t, net.IPv4(127, 0, 0, 1))
	echo6 := udpEcho(t, net.IPv6loopback)
	addrs, err := net.DefaultResolver.LookupIPAddr(context.Background(), "localhost")
	if err != nil || len(addrs) == 0 {
		t.Fatalf("localhost: %v", err)
	}
	// The server sends to the first address of the name.
	echoL := udpEcho(t, addrs[0].IP)
	for _, profile := range []string{decide.ProfileV2, decide.ProfileV1} {
		t.Run(profile, func(t *testing.T) {
			logs := newLines()
			r := startServerWith(t, profile == decide.ProfileV1, profile == decide.ProfileV2, nil, logs)
			socks := startClient(t, r.server, profile)
			ctrl, code, relay := socksAssociate(t, socks, 0)
			if code != socks5.Succeeded {
				t.Fatalf("reply %d", code)
			}
			// The relay is on the address the application connected to.
			if !relay.IP.Equal(net.IPv4(127, 0, 0, 1)) || relay.Port == 0 {
				t.Fatalf("relay %v", relay)
			}
			pc := app(t)
			for _, n := range []int{0, 1, 512, 1452, datagram.MaxIPv4Data} {
				roundTrip(t, pc, relay, dest(echoA, randomData(n)), echoA)
			}
			for i := 0; i < 3; i++ {
				roundTrip(t, pc, relay, dest(echoB, randomData(100+i)), echoB)
				roundTrip(t, pc, relay, dest(echoA, randomData(200+i)), echoA)
			}
			if echo6 != nil {
				// The answer's source is IPv6: ATYP 04.
				roundTrip(t, pc, relay, dest(echo6, randomData(datagram.MaxIPv6Data)), echo6)
			}
			name := datagram.Datagram{AddrType: datagram.Domain, Addr: []byte("localhost"), Port: uint16(echoL.Port), Data: []byte("by name")}
			roundTrip(t, pc, relay, name, echoL)
			ctrl.Close()
			logs.waitFor(t, "closed by the client")
		})
	}
}

// The relay drops what is not the application's: from another port than
// DST.PORT, a fragment, a payload that does not decode or does not fit a
// frame; with DST.PORT 0, the first datagram accepted names the port.
func TestUDPRelayDrops(t *testing.T) {
	echo := udpEcho(t, net.IPv4(127, 0, 0, 1))
	r := startServer(t, false, true)
	socks := startClient(t, r.server, decide.ProfileV2)
	for _, named := range []bool{true, false} {
		pc, other := app(t), app(t)
		port := 0
		if named {
			port = pc.LocalAddr().(*net.UDPAddr).Port
		}
		_, code, relay := socksAssociate(t, socks, port)
		if code != socks5.Succeeded {
			t.Fatalf("reply %d", code)
		}
		if !named {
			roundTrip(t, pc, relay, dest(echo, []byte("names the port")), echo)
		}
		fragment := socksDatagram(t, dest(echo, []byte("fragment")))
		fragment[2] = 1
		for _, b := range [][]byte{
			fragment,
			{0, 0, 0, 5, 1, 2, 3},
			{0, 0},
			socksDatagram(t, dest(echo, nil))[:5],
			append(socksDatagram(t, dest(echo, randomData(datagram.MaxIPv4Data))), 0),
		} {
			if _, err := pc.WriteToUDP(b, relay); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := other.WriteToUDP(socksDatagram(t, dest(echo, []byte("elsewhere"))), relay); err != nil {
			t.Fatal(err)
		}
		// Nothing of the above comes back: the next answer is the marker's.
		roundTrip(t, pc, relay, dest(echo, []byte("marker")), echo)
	}
}

// --no-udp: the association is refused with 02 (both profiles), and the
// control connection closes.
func TestUDPRefused(t *testing.T) {
	r := startServerWith(t, true, true, func(c *server.Config) { c.NoUDP = true }, nil)
	for _, profile := range []string{decide.ProfileV2, decide.ProfileV1} {
		ctrl, code := socksAssociateRefused(t, startClient(t, r.server, profile))
		if code != socks5.NotAllowed {
			t.Errorf("%s: reply %d, want %d", profile, code, socks5.NotAllowed)
		}
		ctrl.SetReadDeadline(time.Now().Add(testTimeout))
		if n, err := ctrl.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("%s: control connection still open: %d %v", profile, n, err)
		}
	}
}

// socksAssociateRefused reads a refusal's reply (bound address 0.0.0.0:0).
func socksAssociateRefused(t *testing.T, socks string) (net.Conn, byte) {
	c, err := net.DialTimeout("tcp", socks, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(testTimeout))
	c.Write([]byte{5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0})
	var resp [12]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		t.Fatal(err)
	}
	return c, resp[3]
}

// The server's idle CLOSE ends the association for the application: the
// client closes the control connection.
func TestUDPIdleClosesControl(t *testing.T) {
	const idle = 300 * time.Millisecond
	echo := udpEcho(t, net.IPv4(127, 0, 0, 1))
	logs := newLines()
	r := startServerWith(t, false, true, func(c *server.Config) { c.UDPIdleTimeout = idle }, logs)
	ctrl, code, relay := socksAssociate(t, startClient(t, r.server, decide.ProfileV2), 0)
	if code != socks5.Succeeded {
		t.Fatalf("reply %d", code)
	}
	roundTrip(t, app(t), relay, dest(echo, []byte("x")), echo)
	last := time.Now()
	ctrl.SetReadDeadline(time.Now().Add(testTimeout))
	if n, err := io.Copy(io.Discard, ctrl); n != 0 || err != nil {
		t.Fatalf("control connection: %d bytes, %v", n, err)
	}
	if waited := time.Since(last); waited < idle-50*time.Millisecond {
		t.Fatalf("ended after %v, idle timeout %v", waited, idle)
	}
	logs.waitFor(t, "idle for 300ms")
}
