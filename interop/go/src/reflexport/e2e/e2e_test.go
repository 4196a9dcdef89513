package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log"
	"net"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"reflexport/client"
	"reflexport/decide"
	"reflexport/frame"
	"reflexport/replay"
	"reflexport/server"
	"reflexport/socks5"
	"reflexport/v2"
)

var user = [16]byte{0x6b, 0xa7, 0xb8, 0x10}

const testTimeout = 20 * time.Second

func listen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

// echo serves an echo server that half-closes after its peer does.
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

// fallback records what each connection sends until its end, then answers.
type fallback struct {
	addr string
	got  chan []byte
}

func newFallback(t *testing.T) *fallback {
	ln := listen(t)
	f := &fallback{addr: ln.Addr().String(), got: make(chan []byte, 10)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				b, err := io.ReadAll(c)
				if len(b) == 0 && errors.Is(err, syscall.ECONNRESET) {
					// The server's early dial, reset unused when a
					// hello was accepted: not a fallback connection.
					return
				}
				f.got <- b
				c.Write([]byte("HTTP/1.1 404 Not Found\r\n\r\n"))
			}()
		}
	}()
	return f
}

func (f *fallback) next(t *testing.T) []byte {
	select {
	case b := <-f.got:
		return b
	case <-time.After(testTimeout):
		t.Fatal("fallback got nothing")
		return nil
	}
}

type rig struct {
	server string
	fb     *fallback
	log    *syncBuffer
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

func startServer(t *testing.T, v1, v2 bool) rig { return startServerWith(t, v1, v2, nil, nil) }

// startServerWith is startServer with the configuration edited by edit
// (if not nil) and the log also written to logTo (if not nil).
func startServerWith(t *testing.T, v1, v2 bool, edit func(*server.Config), logTo io.Writer) rig {
	fb := newFallback(t)
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := decide.New(decide.Config{AcceptV1: v1, AcceptV2: v2, Users: [][16]byte{user}, Filter: replay.New(1000, 120)})
	logs := &syncBuffer{}
	var w io.Writer = logs
	if logTo != nil {
		w = io.MultiWriter(logs, logTo)
	}
	cfg := server.Config{Decider: d, Fallback: fb.addr, HelloWait: 500 * time.Millisecond, Log: log.New(w, "", 0)}
	if edit != nil {
		edit(&cfg)
	}
	go server.New(cfg).Serve(ctx, ln)
	return rig{server: ln.Addr().String(), fb: fb, log: logs}
}

func startClient(t *testing.T, serverAddr, profile string) string {
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	cl := client.New(client.Config{Server: serverAddr, User: user, Profile: profile, Log: log.New(io.Discard, "", 0)})
	go cl.Serve(ctx, ln)
	return ln.Addr().String()
}

// socksConnect opens a SOCKS5 CONNECT to target (host:port, IPv4 or name)
// and returns the connection and the reply code.
func socksConnect(t *testing.T, socks, host string, port int) (net.Conn, byte) {
	c, err := net.DialTimeout("tcp", socks, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	req := []byte{5, 1, 0, 5, 1, 0}
	if ip := net.ParseIP(host).To4(); ip != nil {
		req = append(append(req, 1), ip...)
	} else {
		req = append(append(req, 3, byte(len(host))), host...)
	}
	req = binary.BigEndian.AppendUint16(req, uint16(port))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	var resp [12]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		t.Fatal(err)
	}
	if resp[0] != 5 || resp[1] != 0 || resp[2] != 5 {
		t.Fatalf("socks reply %x", resp)
	}
	return c, resp[3]
}

func hostPort(t *testing.T, addr string) (string, int) {
	h, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return h, n
}

func TestEndToEnd(t *testing.T) {
	target := echo(t)
	host, port := hostPort(t, target)
	for _, profile := range []string{decide.ProfileV2, decide.ProfileV1} {
		for _, accept := range [][2]bool{{profile == decide.ProfileV1, profile == decide.ProfileV2}, {true, true}} {
			r := startServer(t, accept[0], accept[1])
			socks := startClient(t, r.server, profile)
			var wg sync.WaitGroup
			for i := 0; i < 3; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					h := host
					if i == 1 {
						h = "localhost"
					}
					c, code := socksConnect(t, socks, h, port)
					defer c.Close()
					if code != socks5.Succeeded {
						t.Errorf("%s: reply %d", profile, code)
						return
					}
					data := make([]byte, 300000+i)
					rand.Read(data)
					go func() {
						c.Write(data)
						c.(*net.TCPConn).CloseWrite()
					}()
					back, err := io.ReadAll(c)
					if err != nil || !bytes.Equal(back, data) {
						t.Errorf("%s: echo differs (%d of %d bytes, %v)", profile, len(back), len(data), err)
					}
				}(i)
			}
			wg.Wait()
		}
	}
}

func TestConnectRefused(t *testing.T) {
	ln := listen(t)
	host, port := hostPort(t, ln.Addr().String())
	ln.Close() // nothing listens there now
	r := startServer(t, true, true)
	for _, profile := range []string{decide.ProfileV2, decide.ProfileV1} {
		c, code := socksConnect(t, startClient(t, r.server, profile), host, port)
		c.Close()
		if code != socks5.ConnectionRefused {
			t.Errorf("%s: reply %d, want %d", profile, code, socks5.ConnectionRefused)
		}
	}
}

func rawConn(t *testing.T, addr string) net.Conn {
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestFallbackGetsEveryByte(t *testing.T) {
	r := startServer(t, true, true)
	// A short HTTP request: decided at once, before the hello wait.
	req := []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	c := rawConn(t, r.server)
	c.Write(req)
	c.(*net.TCPConn).CloseWrite()
	answer, _ := io.ReadAll(c)
	if got := r.fb.next(t); !bytes.Equal(got, req) {
		t.Fatalf("fallback got %q", got)
	}
	if !bytes.HasPrefix(answer, []byte("HTTP/1.1 404")) {
		t.Fatalf("answer %q", answer)
	}
	// 76 bytes of junk and more in one write: decided as a hello, then
	// every byte, in order.
	junk := make([]byte, 500)
	rand.Read(junk)
	junk[0] = 'x'
	c = rawConn(t, r.server)
	c.Write(junk)
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c)
	if got := r.fb.next(t); !bytes.Equal(got, junk) {
		t.Fatalf("fallback got %d bytes, want %d", len(got), len(junk))
	}
	// A first flight of fewer than 76 bytes, then the rest: the first
	// piece goes to the fallback at once, then every byte after it.
	c = rawConn(t, r.server)
	c.Write(junk[:30])
	time.Sleep(50 * time.Millisecond)
	c.Write(junk[30:])
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c)
	if got := r.fb.next(t); !bytes.Equal(got, junk) {
		t.Fatalf("split: fallback got %d bytes, want %d", len(got), len(junk))
	}
	// Silence, then bytes after the hello wait: handshake_timeout.
	c = rawConn(t, r.server)
	time.Sleep(time.Second)
	c.Write(junk[:10])
	c.(*net.TCPConn).CloseWrite()
	if got := r.fb.next(t); !bytes.Equal(got, junk[:10]) {
		t.Fatalf("hello wait: fallback got %q", got)
	}
	// Fewer than 76 bytes and the end of the stream.
	c = rawConn(t, r.server)
	c.Write(junk[:10])
	c.(*net.TCPConn).CloseWrite()
	if got := r.fb.next(t); !bytes.Equal(got, junk[:10]) {
		t.Fatalf("early end: fallback got %q", got)
	}
	time.Sleep(100 * time.Millisecond)
	logs := r.log.String()
	for _, want := range []string{"fallback (too_short)", "fallback (auth_failed)", "fallback (handshake_timeout)"} {
		if !bytes.Contains([]byte(logs), []byte(want)) {
			t.Errorf("no %q in server log:\n%s", want, logs)
		}
	}
}

func TestReplayedHelloGoesToFallback(t *testing.T) {
	r := startServer(t, false, true)
	e, _ := v2.ClientEphemeral(nil)
	cl, _ := v2.NewClient(user, e)
	hello, _ := cl.WriteHello(v2.Payload{Timestamp: time.Now().Unix()})
	c := rawConn(t, r.server)
	c.Write(hello)
	reply := make([]byte, v2.ServerHelloSize)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	c2 := rawConn(t, r.server)
	c2.Write(hello)
	c2.(*net.TCPConn).CloseWrite()
	if got := r.fb.next(t); !bytes.Equal(got, hello) {
		t.Fatal("replay not handed to the fallback")
	}
	// A bad frame on the accepted connection: the server closes it.
	c.Write([]byte{0xff, 0xff})
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("still open: %d %v", n, err)
	}
	_ = frame.MaxWire
}
