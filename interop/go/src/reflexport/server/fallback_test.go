package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"syscall"
	"testing"
	"time"

	"reflexport/decide"
	"reflexport/replay"
	"reflexport/v2"
)

// These tests cover SPEC.md 12.1 "When the fallback is dialed" and how a
// fallback connection ends, each against the same fake fallback reached
// directly where a comparison makes sense. Every wait is bounded.

// fake is a fallback whose connections run handle; conns receives each
// accepted connection as it is accepted.
type fake struct {
	addr  string
	conns chan *net.TCPConn
}

func newFake(t *testing.T, handle func(c *net.TCPConn)) *fake {
	ln := listen(t)
	f := &fake{addr: ln.Addr().String(), conns: make(chan *net.TCPConn, 100)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc := c.(*net.TCPConn)
			tc.SetDeadline(time.Now().Add(testTimeout))
			f.conns <- tc
			go handle(tc)
		}
	}()
	return f
}

// closesAfter is a fallback that closes a connection on which no byte came
// within d (a web server's header timeout): an orderly close, a FIN.
func closesAfter(d time.Duration) func(c *net.TCPConn) {
	return func(c *net.TCPConn) {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(d))
		c.Read(make([]byte, 1))
	}
}

func startAt(t *testing.T, fallbackAddr string, wait time.Duration, dial func(context.Context, string, string) (net.Conn, error)) rig {
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := decide.New(decide.Config{AcceptV1: true, AcceptV2: true, Users: [][16]byte{user},
		Filter: replay.New(1000, 120)})
	logs := &syncBuffer{}
	srv := New(Config{Decider: d, Fallback: fallbackAddr, HelloWait: wait, Log: log.New(logs, "", 0), Dial: dial})
	go srv.Serve(ctx, ln)
	return rig{addr: ln.Addr().String(), log: logs}
}

// readToEnd reads until the end of stream or an error (bounded by the
// connection's deadline) and says when, from start.
func readToEnd(c net.Conn, start time.Time) ([]byte, error, time.Duration) {
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return got, err, time.Since(start)
		}
	}
}

// waitSocketReset waits (at most within) until c has been reset; after a
// FIN a read cannot tell, the socket's pending error can (see waitReset).
func waitSocketReset(c *net.TCPConn, within time.Duration) error {
	c.SetReadDeadline(time.Now().Add(within))
	defer c.SetReadDeadline(time.Time{})
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Read(func(fd uintptr) bool {
		v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		return err == nil && v != 0
	})
}

func genuineHello(t *testing.T) ([]byte, *v2.Client) {
	e, err := v2.ClientEphemeral(nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := v2.NewClient(user, e)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := cl.WriteHello(v2.Payload{Timestamp: time.Now().Unix()})
	if err != nil || len(hello) != decide.HelloSize {
		t.Fatalf("hello: %d bytes, %v", len(hello), err)
	}
	return hello, cl
}

// A silent connection through the server ends when the fallback ends it,
// as it does when the fallback is reached directly: the fallback is dialed
// at the accept, so its own timeout counts from the connection's arrival,
// whether the hello wait is longer or shorter than that timeout.
func TestSilentConnectionEndsWhenFallbackCloses(t *testing.T) {
	const closeAfter = 400 * time.Millisecond
	const tolerance = 150 * time.Millisecond
	fb := newFake(t, closesAfter(closeAfter))
	for _, wait := range []time.Duration{helloWait, 100 * time.Millisecond} {
		r := startAt(t, fb.addr, wait, nil)
		var ends [2]time.Duration
		for i, addr := range []string{fb.addr, r.addr} {
			start := time.Now()
			c := dial(t, addr)
			got, err, at := readToEnd(c, start)
			if err != nil || len(got) != 0 {
				t.Fatalf("hello wait %v, %s: got %q, ended by %v (want nothing, then a FIN)", wait, addr, got, err)
			}
			ends[i] = at
			c.Close()
		}
		t.Logf("hello wait %v: the fallback's close reached a silent client after %v directly, %v through the server", wait, ends[0], ends[1])
		if ends[1] < closeAfter-10*time.Millisecond || ends[1]-ends[0] > tolerance || ends[0]-ends[1] > tolerance {
			t.Errorf("hello wait %v: silent connection ended after %v through the server, %v directly", wait, ends[1], ends[0])
		}
		r.log.waitLog(t, "fallback (")
	}
}

// A fallback that speaks first (a banner) reaches a silent client at once,
// and the connection is a fallback connection from then on: even a genuine
// hello sent after it goes to the fallback, byte for byte.
func TestFallbackBannerReachesSilentClient(t *testing.T) {
	banner := []byte("220 fake.example ESMTP ready\r\n")
	received := make(chan []byte, 10)
	fb := newFake(t, func(c *net.TCPConn) {
		defer c.Close()
		c.Write(banner)
		b, _ := io.ReadAll(c)
		received <- b
	})
	r := startAt(t, fb.addr, helloWait, nil)
	c := dial(t, r.addr)
	start := time.Now()
	got := make([]byte, len(banner))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, banner) {
		t.Fatalf("client got %q (%v), want the banner", got, err)
	}
	if d := time.Since(start); d > helloWait/4 {
		t.Fatalf("banner after %v", d)
	}
	hello, _ := genuineHello(t)
	c.Write(hello)
	c.CloseWrite()
	select {
	case b := <-received:
		if !bytes.Equal(b, hello) {
			t.Fatalf("fallback got %x, want the hello", b)
		}
	case <-time.After(testTimeout):
		t.Fatal("fallback got nothing")
	}
	if rest, err, _ := readToEnd(c, start); err != nil || len(rest) != 0 {
		t.Fatalf("client got %x more (%v), want the fallback's FIN only (no server hello)", rest, err)
	}
	r.log.waitLog(t, "fallback (fallback moved first)")
}

// A genuine hello that comes after the fallback was dialed early is
// accepted, and the early fallback connection is reset, having carried
// nothing (no FIN: it was never the client's).
func TestAcceptedHelloAfterSilenceResetsFallback(t *testing.T) {
	type result struct {
		n   int
		err error
	}
	results := make(chan result, 10)
	fb := newFake(t, func(c *net.TCPConn) {
		defer c.Close()
		n, err := c.Read(make([]byte, 100))
		results <- result{n, err}
	})
	r := startAt(t, fb.addr, helloWait, nil)
	for i := 0; i < 3; i++ {
		c := dial(t, r.addr)
		// Nothing sent yet: the server dials its fallback now.
		select {
		case <-fb.conns:
		case <-time.After(testTimeout):
			t.Fatal("the server did not dial its fallback at the accept")
		}
		hello, cl := genuineHello(t)
		if _, err := c.Write(hello); err != nil {
			t.Fatal(err)
		}
		reply := make([]byte, v2.ServerHelloSize)
		if _, err := io.ReadFull(c, reply); err != nil {
			t.Fatalf("no server hello: %v\n%s", err, r.log.String())
		}
		if _, err := cl.ReadHello(reply); err != nil {
			t.Fatalf("server hello: %v", err)
		}
		select {
		case res := <-results:
			if res.n != 0 || !errors.Is(res.err, syscall.ECONNRESET) {
				t.Fatalf("early fallback connection: %d bytes, %v; want a reset and nothing\n%s", res.n, res.err, r.log.String())
			}
		case <-time.After(testTimeout):
			t.Fatal("the early fallback connection was not reset")
		}
		c.Close()
	}
}

// A failed early dial is tried again when a refusal needs the fallback.
func TestFailedEarlyDialIsRetried(t *testing.T) {
	fb := newFallback(t)
	dials := make(chan int, 10)
	n := 0
	var d net.Dialer
	dialer := func(ctx context.Context, network, addr string) (net.Conn, error) {
		n++ // dials of this test's one connection run one after the other
		dials <- n
		if n == 1 {
			return nil, errors.New("first dial fails (test)")
		}
		return d.DialContext(ctx, network, addr)
	}
	r := startAt(t, fb.addr, helloWait, dialer)
	r.fb = fb
	c := dial(t, r.addr)
	select {
	case <-dials:
	case <-time.After(testTimeout):
		t.Fatal("no early dial")
	}
	probe := []byte("ten bytes!")
	c.Write(probe)
	fb.expect(t, probe, testTimeout)
	c.CloseWrite()
	fb.expectEnd(t)
	if got, _ := io.ReadAll(c); !bytes.Equal(got, answer) {
		t.Fatalf("client got %q, want the fallback's answer", got)
	}
	r.log.waitLog(t, "early fallback dial failed")
}

// ending is how a connection to addr ends as a prober sees it: what it
// receives until the FIN, then a first write (which succeeds), the reset
// that write draws from a fallback that has closed entirely, and a second
// write, which fails.
type ending struct {
	got            []byte
	end            error
	write1, reset  error
	write2         error
	write2IsFailed bool
}

func endingOf(t *testing.T, addr string, send []byte) ending {
	c := dial(t, addr)
	if send != nil {
		if _, err := c.Write(send); err != nil {
			t.Fatal(err)
		}
	}
	var e ending
	e.got, e.end, _ = readToEnd(c, time.Now())
	_, e.write1 = c.Write([]byte("first write after the FIN\n"))
	e.reset = waitSocketReset(c, 5*time.Second)
	_, e.write2 = c.Write([]byte("second write\n"))
	e.write2IsFailed = isReset(e.write2)
	return e
}

// After the fallback's FIN, a fallback that closed entirely resets the
// connection at the next bytes it receives: through the server the client
// is reset then too, so its next write fails as it would directly (no
// half-open connection left waiting for an idle timeout). Both ways a
// fallback connection comes about: the fallback speaking first, and a
// refused first flight.
func TestResetAfterFINEnding(t *testing.T) {
	bye := []byte("421 closing\r\n")
	speaksAndCloses := newFake(t, func(c *net.TCPConn) {
		c.Write(bye)
		c.Close()
	})
	page := []byte("HTTP/1.0 400 Bad Request\r\n\r\n")
	answersAndCloses := newFake(t, func(c *net.TCPConn) {
		var head []byte
		buf := make([]byte, 1024)
		for !bytes.Contains(head, []byte("\r\n\r\n")) {
			n, err := c.Read(buf)
			head = append(head, buf[:n]...)
			if err != nil {
				break
			}
		}
		c.Write(page)
		c.Close()
	})
	for _, tc := range []struct {
		name string
		fb   *fake
		send []byte
		want []byte
	}{
		{"fallback speaks first", speaksAndCloses, nil, bye},
		{"refused request", answersAndCloses, []byte("GET / HTTP/1.0\r\n\r\n"), page},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startAt(t, tc.fb.addr, helloWait, nil)
			direct := endingOf(t, tc.fb.addr, tc.send)
			through := endingOf(t, r.addr, tc.send)
			for _, e := range []struct {
				name string
				e    ending
			}{{"directly", direct}, {"through the server", through}} {
				if !bytes.Equal(e.e.got, tc.want) || e.e.end != nil {
					t.Errorf("%s: got %q, ended by %v; want %q and a FIN", e.name, e.e.got, e.e.end, tc.want)
				}
				if e.e.write1 != nil || e.e.reset != nil || !e.e.write2IsFailed {
					t.Errorf("%s: first write %v, reset %v, second write %v; want ok, a reset, a failure",
						e.name, e.e.write1, e.e.reset, e.e.write2)
				}
			}
			r.log.waitLog(t, "fallback reset after its FIN")
		})
	}
}

// A fallback that resets a connection outright (before any FIN) resets the
// client's connection too: one that resets at the first bytes it gets (a
// refused first flight), and one that resets a silent connection after a
// while (the fallback moving first).
func TestFallbackResetIsPassedOn(t *testing.T) {
	atFirstBytes := newFake(t, func(c *net.TCPConn) {
		c.Read(make([]byte, 100))
		c.SetLinger(0)
		c.Close()
	})
	afterSilence := newFake(t, func(c *net.TCPConn) {
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		c.Read(make([]byte, 100))
		c.SetLinger(0)
		c.Close()
	})
	for _, tc := range []struct {
		name string
		fb   *fake
		send []byte
	}{{"at the first bytes", atFirstBytes, []byte("x")}, {"after silence", afterSilence, nil}} {
		r := startAt(t, tc.fb.addr, helloWait, nil)
		for _, addr := range []string{tc.fb.addr, r.addr} {
			c := dial(t, addr)
			if tc.send != nil {
				c.Write(tc.send)
			}
			got, err, _ := readToEnd(c, time.Now())
			if len(got) != 0 || !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("%s, %s: got %q, ended by %v; want a reset", tc.name, addr, got, err)
			}
		}
		r.log.waitLog(t, "fallback reset")
	}
}
