package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"reflexport/client"
	"reflexport/decide"
	"reflexport/header"
	"reflexport/replay"
	"reflexport/v2"
)

var user = [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d}

// The hello wait of these tests: far above the bound a short first flight
// must reach the fallback within (atOnce).
const (
	helloWait   = 30 * time.Second
	atOnce      = time.Second
	testTimeout = 20 * time.Second
)

var answer = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// fallback passes on what its connections send as it arrives (one
// connection at a time in these tests), a nil chunk at each end of
// stream, after which it answers and closes. A connection reset before it
// carried a byte (the server's early dial, given up for an accepted hello)
// is counted in resets and passes on nothing.
type fallback struct {
	addr   string
	chunks chan []byte
	resets chan struct{}
}

func newFallback(t *testing.T) *fallback {
	ln := listen(t)
	f := &fallback{addr: ln.Addr().String(), chunks: make(chan []byte, 1000), resets: make(chan struct{}, 1000)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				got := 0
				for {
					b := make([]byte, 4096)
					n, err := c.Read(b)
					if n > 0 {
						got += n
						f.chunks <- b[:n]
					}
					if err != nil {
						if got == 0 && isReset(err) {
							f.resets <- struct{}{}
							return
						}
						break
					}
				}
				f.chunks <- nil
				c.Write(answer)
			}()
		}
	}()
	return f
}

// expect waits up to within for exactly want (and nothing else) to reach
// the fallback.
func (f *fallback) expect(t *testing.T, want []byte, within time.Duration) {
	t.Helper()
	var got []byte
	deadline := time.After(within)
	for len(got) < len(want) {
		select {
		case b := <-f.chunks:
			if b == nil {
				t.Fatalf("fallback: end of stream after %d of %d bytes", len(got), len(want))
			}
			got = append(got, b...)
		case <-deadline:
			t.Fatalf("fallback got %d of %d bytes within %v", len(got), len(want), within)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("fallback got %x, want %x", got, want)
	}
}

func (f *fallback) expectEnd(t *testing.T) {
	t.Helper()
	select {
	case b := <-f.chunks:
		if b != nil {
			t.Fatalf("fallback got %d more bytes, want the end of stream", len(b))
		}
	case <-time.After(testTimeout):
		t.Fatal("fallback: no end of stream")
	}
}

func (f *fallback) expectNothing(t *testing.T) {
	t.Helper()
	select {
	case b := <-f.chunks:
		t.Fatalf("fallback got %q", b)
	default:
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitLog waits for the server to log want (a connection's fallback line
// comes when its copying ends).
func (s *syncBuffer) waitLog(t *testing.T, want string) {
	t.Helper()
	for deadline := time.Now().Add(testTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(s.String(), want) {
			return
		}
	}
	t.Fatalf("no %q in the server log:\n%s", want, s.String())
}

type rig struct {
	addr string
	fb   *fallback
	log  *syncBuffer
}

func start(t *testing.T, acceptV1, acceptV2 bool, wait time.Duration) rig {
	fb := newFallback(t)
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := decide.New(decide.Config{AcceptV1: acceptV1, AcceptV2: acceptV2, Users: [][16]byte{user},
		Filter: replay.New(1000, 120)})
	logs := &syncBuffer{}
	srv := New(Config{Decider: d, Fallback: fb.addr, HelloWait: wait, Log: log.New(logs, "", 0)})
	go srv.Serve(ctx, ln)
	return rig{addr: ln.Addr().String(), fb: fb, log: logs}
}

func dial(t *testing.T, addr string) *net.TCPConn {
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// A first read of fewer than 76 bytes goes to the fallback at once, not
// after the hello wait, then everything after it, then the end of stream;
// the client gets the fallback's answer (SPEC.md 12.1, "the first flight
// ends short").
func TestShortFirstFlightGoesToFallbackAtOnce(t *testing.T) {
	for _, c := range []struct {
		name   string
		v1, v2 bool
		prefix string
		reason string
		sizes  []int
	}{
		{"v2", false, true, "x", "too_short", []int{10, 75, 1}},
		{"v1+v2", true, true, "x", "too_short", []int{10, 75}},
		// A v1-only server on bytes that start like the magic: the flight
		// is short, nothing else decides it.
		{"v1 magic prefix", true, false, "RFXL", "too_short", []int{10, 75, 1}},
		// A v1-only server decides on a byte that is not the magic first.
		{"v1 not magic", true, false, "GET /", "bad_magic", []int{10, 75}},
	} {
		for _, n := range c.sizes {
			t.Run(fmt.Sprintf("%s/%d", c.name, n), func(t *testing.T) {
				r := start(t, c.v1, c.v2, helloWait)
				data := make([]byte, n)
				rand.Read(data)
				copy(data, c.prefix)
				conn := dial(t, r.addr)
				begin := time.Now()
				if _, err := conn.Write(data); err != nil {
					t.Fatal(err)
				}
				r.fb.expect(t, data, atOnce)
				t.Logf("%d bytes reached the fallback after %v", n, time.Since(begin))
				// Everything after it, in order, and the end of stream.
				more := make([]byte, 200)
				rand.Read(more)
				conn.Write(more)
				r.fb.expect(t, more, testTimeout)
				conn.CloseWrite()
				r.fb.expectEnd(t)
				got, err := io.ReadAll(conn)
				if err != nil || !bytes.Equal(got, answer) {
					t.Fatalf("client got %q (%v), want the fallback's answer", got, err)
				}
				r.log.waitLog(t, "fallback ("+c.reason+")")
			})
		}
	}
}

// A genuine hello the network splits is not a hello: its first piece goes
// to the fallback before the rest is sent, then the rest.
func TestSplitHelloGoesToFallback(t *testing.T) {
	for _, first := range []int{38, 1} {
		r := start(t, true, true, helloWait)
		e, _ := v2.ClientEphemeral(nil)
		cl, _ := v2.NewClient(user, e)
		hello, err := cl.WriteHello(v2.Payload{Timestamp: time.Now().Unix()})
		if err != nil || len(hello) != decide.HelloSize {
			t.Fatalf("hello: %d bytes, %v", len(hello), err)
		}
		conn := dial(t, r.addr)
		conn.Write(hello[:first])
		r.fb.expect(t, hello[:first], atOnce)
		conn.Write(hello[first:])
		r.fb.expect(t, hello[first:], testTimeout)
		conn.CloseWrite()
		r.fb.expectEnd(t)
		if got, _ := io.ReadAll(conn); !bytes.Equal(got, answer) {
			t.Fatalf("split at %d: client got %x, want the fallback's answer", first, got)
		}
		r.log.waitLog(t, "fallback (too_short)")
	}
}

// Nothing at all within the hello wait: handshake_timeout, then what comes
// later goes to the fallback.
func TestSilenceWaitsForTheHelloWait(t *testing.T) {
	const wait = 300 * time.Millisecond
	r := start(t, false, true, wait)
	conn := dial(t, r.addr)
	time.Sleep(wait + 200*time.Millisecond)
	late := []byte("late bytes")
	conn.Write(late)
	r.fb.expect(t, late, testTimeout)
	conn.CloseWrite()
	r.fb.expectEnd(t)
	io.ReadAll(conn)
	r.log.waitLog(t, "fallback (handshake_timeout)")
}

func echo(t *testing.T) string {
	ln := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.TCPConn).CloseWrite()
			}()
		}
	}()
	return ln.Addr().String()
}

// The Go client sends its hello in one write: it is accepted, both
// profiles, and the fallback gets nothing.
func TestHelloInOneWriteWorks(t *testing.T) {
	target := echo(t)
	tcp, _ := net.ResolveTCPAddr("tcp", target)
	h := header.Header{Command: header.CommandTCP, Port: uint16(tcp.Port), AddrType: header.IPv4, Addr: tcp.IP.To4()}
	for _, profile := range []string{decide.ProfileV2, decide.ProfileV1} {
		t.Run(profile, func(t *testing.T) {
			r := start(t, true, true, helloWait)
			for i := 0; i < 5; i++ {
				tun, err := client.Dial(context.Background(), client.Config{Server: r.addr, User: user, Profile: profile,
					Now: func() int64 { return time.Now().Unix() }}, h)
				if err != nil {
					t.Fatalf("dial %d: %v\n%s", i, err, r.log.String())
				}
				tun.Conn().SetDeadline(time.Now().Add(testTimeout))
				if err := tun.SendData([]byte("ping")); err != nil {
					t.Fatal(err)
				}
				_, p, err := tun.Recv()
				if err != nil || string(p) != "ping" {
					t.Fatalf("echo: %q %v", p, err)
				}
				tun.Conn().Close()
			}
			r.fb.expectNothing(t)
		})
	}
}
