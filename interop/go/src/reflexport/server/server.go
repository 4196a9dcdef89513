// Package server is the Reflex server: per connection the decision of
// SPEC.md section 12 (the first flight judged at once, the hello wait while
// nothing has come, the fallback dialed at the accept of a connection on
// which nothing has arrived, every received byte to the fallback, endings
// passed on as they happen at the fallback), then the session of section
// 13.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"reflexport/decide"
	"reflexport/frame"
	"reflexport/header"
	"reflexport/rerr"
	"reflexport/socks5"
	"reflexport/tunnel"
)

// Defaults.
const (
	DefaultHelloWait      = 10 * time.Second
	DefaultConnectTimeout = 10 * time.Second
	DefaultAcceptGrace    = 2 * time.Millisecond
	drainWait             = 5 * time.Second
	// SPEC.md 15.3's limits: associations per user at once, and how long
	// an association may carry no datagram either way.
	DefaultUDPPerUser     = 64
	DefaultUDPIdleTimeout = 60 * time.Second
)

// Config configures a Server.
type Config struct {
	Decider        *decide.Decider
	Fallback       string // host:port of the fallback web server
	HelloWait      time.Duration
	ConnectTimeout time.Duration
	// AcceptGrace: bytes that arrive this soon after the accept count as
	// already there (judged without an early fallback dial); 2 ms by
	// default, negative for none (any flight not yet arrived at the accept
	// makes an early dial).
	AcceptGrace time.Duration
	Log         *log.Logger
	// Dial connects to targets and the fallback; net.Dialer by default.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// UDP associations (SPEC.md section 15): NoUDP refuses every one with
	// 02; UDPPerUser caps a user's associations at once (0: 64; the next
	// is refused with 02); UDPIdleTimeout ends one that carried no
	// datagram either way for that long (0: 60 s). A destination's name is
	// resolved within ConnectTimeout.
	NoUDP          bool
	UDPPerUser     int
	UDPIdleTimeout time.Duration
}

// Server serves Reflex connections.
type Server struct {
	cfg Config
	wg  sync.WaitGroup
	udp udpState
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.HelloWait == 0 {
		cfg.HelloWait = DefaultHelloWait
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.AcceptGrace == 0 {
		cfg.AcceptGrace = DefaultAcceptGrace
	}
	if cfg.AcceptGrace < 0 {
		cfg.AcceptGrace = 0
	}
	if cfg.Log == nil {
		cfg.Log = log.New(os.Stderr, "", log.LstdFlags)
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	if cfg.UDPPerUser <= 0 {
		cfg.UDPPerUser = DefaultUDPPerUser
	}
	if cfg.UDPIdleTimeout <= 0 {
		cfg.UDPIdleTimeout = DefaultUDPIdleTimeout
	}
	return &Server{cfg: cfg, udp: udpState{users: map[[16]byte]int{}}}
}

// Serve accepts connections until ctx is done or ln fails.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, c)
		}()
	}
}

func (s *Server) handle(ctx context.Context, c net.Conn) {
	accepted := time.Now()
	// Read at most the largest first flight the server decides on (76
	// bytes, or v2's in the server's shape: section 11.8) and judge the
	// first flight (section 12.1): a genuine client sends it in one write,
	// so a first read of fewer than N bytes goes to the fallback at once.
	// The hello wait applies only while nothing at all has come.
	buf := make([]byte, s.cfg.Decider.MaxFlight())
	// When the client's bytes are already there at the accept, they are
	// judged at once and the fallback is dialed only if a refusal needs it.
	// "Already there" is this port's choice: what a non-blocking read finds
	// at the accept (readNow), or what arrives within AcceptGrace (2 ms) of
	// the accept, read with that short deadline. A client sends its first
	// flight as soon as its connect returns, within microseconds of the
	// accept on a quiet machine; the grace keeps a busy scheduler from
	// turning such a flight into an early dial (a fallback connection
	// dialed, then reset unused, per genuine hello; a fallback that sees a
	// connection before the client's bytes). A silent connection's fallback
	// is dialed at most the grace later than "at once": its ending moves by
	// as much, far below what anyone can measure over a network.
	n, err, ready := readNow(c, buf)
	if !ready && s.cfg.AcceptGrace > 0 {
		grace := s.cfg.AcceptGrace
		if grace > s.cfg.HelloWait {
			grace = s.cfg.HelloWait
		}
		c.SetReadDeadline(accepted.Add(grace))
		n, err = readFirst(c, buf)
		ready = n > 0 || !isTimeout(err) || grace == s.cfg.HelloWait
	}
	if ready {
		s.judge(ctx, c, buf[:n], err, nil)
		return
	}
	// Nothing has arrived yet: dial the fallback now, so that a silent
	// connection ends as it would at the fallback directly (its own
	// timeout, counted from the connection's arrival), and watch both.
	w := s.dialEarly(ctx)
	c.SetReadDeadline(accepted.Add(s.cfg.HelloWait))
	first := make(chan chunk, 1)
	go func() {
		n, err := readFirst(c, buf)
		first <- chunk{buf[:n], err}
	}()
	for {
		select {
		case r := <-w.dialed:
			w.take(r)
			if r.err != nil {
				s.cfg.Log.Printf("conn %s: early fallback dial failed (tried again if needed): %v", c.RemoteAddr(), r.err)
			}
		case fc := <-w.first:
			// The fallback moved first (bytes, its end of stream, a
			// reset): this is a fallback connection from now on, and the
			// client's first bytes, when they come, go to the fallback.
			fb, _ := w.wait()
			c.SetReadDeadline(time.Time{})
			s.fallback(ctx, c, fb, "fallback moved first", first, known(fc))
			return
		case cr := <-first:
			s.judge(ctx, c, cr.b, cr.err, w)
			return
		}
	}
}

// judge decides a connection on its first flight (got, or, when nothing
// came, why: the hello wait passed, the client's end of stream, a reset).
// w is the early fallback dial, nil if there was none.
func (s *Server) judge(ctx context.Context, c net.Conn, got []byte, readErr error, w *earlyDial) {
	peer := c.RemoteAddr().String()
	d := s.cfg.Decider
	var reason error
	var acc *decide.Accepted
	var extra []byte
	switch n := d.Need(got); {
	case len(got) >= n:
		// N bytes held: decided as a first flight. What the read gave
		// beyond them (a v1 hello read with a shaped flight's buffer and
		// more after it) follows them: to the session if accepted, to the
		// fallback with the rest if not.
		acc, reason = d.Decide(got[:n])
		extra = got[n:]
	case len(got) > 0:
		reason = d.ShortFirstFlight(got)
	case isTimeout(readErr):
		reason = rerr.HandshakeTimeout
	case errors.Is(readErr, io.EOF):
		// The client ended its stream having sent nothing: no hello can
		// come, so this is decided now (too_short).
		reason = rerr.TooShort
	default:
		// A reset (or another error) before any byte ends the connection.
		s.cfg.Log.Printf("conn %s: read error before hello: %v", peer, readErr)
		if w != nil {
			w.abandon()
		}
		c.Close()
		return
	}
	if reason == nil {
		// An accepted hello: the early fallback connection carried nothing
		// and was never the client's; it is reset (no FIN, no TIME_WAIT)
		// and never used.
		if w != nil {
			w.abandon()
		}
		c.SetReadDeadline(time.Time{})
		if _, err := c.Write(acc.Reply); err != nil {
			s.cfg.Log.Printf("conn %s: %s user %s: writing server hello: %v", peer, acc.Profile, acc.UserString(), err)
			c.Close()
			return
		}
		s.session(ctx, c, acc, extra)
		return
	}
	// Refused: every byte received so far goes to the fallback connection
	// dialed early, if that dial worked (a failed one is tried again).
	var fb net.Conn
	var fbFirst <-chan chunk
	if w != nil {
		if conn, err := w.wait(); err == nil {
			fb, fbFirst = conn, w.first
		}
	}
	c.SetReadDeadline(time.Time{})
	var cFirst <-chan chunk
	switch {
	case len(got) > 0:
		cFirst = known(chunk{b: got})
	case errors.Is(readErr, io.EOF):
		cFirst = known(chunk{err: io.EOF})
	}
	s.fallback(ctx, c, fb, rerr.Name(reason), cFirst, fbFirst)
}

// readFirst is the first read of a connection: a read that returns nothing
// is not a flight.
func readFirst(c net.Conn, buf []byte) (n int, err error) {
	for n == 0 && err == nil {
		n, err = c.Read(buf)
	}
	return
}

func (s *Server) session(ctx context.Context, c net.Conn, acc *decide.Accepted, extra []byte) {
	peer := c.RemoteAddr().String()
	prefix := fmt.Sprintf("conn %s: %s user %s", peer, acc.Profile, acc.UserString())
	sess := tunnel.NewWithPrefix(c, acc.Sealer, acc.Opener, extra)
	// The request: the client's first DATA frame.
	t, p, err := sess.Recv()
	if err != nil {
		s.cfg.Log.Printf("%s: no request: %v", prefix, err)
		c.Close()
		return
	}
	if t == frame.Close {
		s.cfg.Log.Printf("%s: closed before the request", prefix)
		sess.SendClose(nil)
		c.Close()
		return
	}
	h, n, err := header.Decode(p)
	if err != nil {
		s.cfg.Log.Printf("%s: bad request header: %v", prefix, err)
		c.Close()
		return
	}
	early := append([]byte(nil), p[n:]...)
	if h.Command == header.CommandUDP {
		// The address is not used (SPEC.md 15.1); what follows the header
		// is the association's first datagram.
		s.associate(ctx, sess, acc.User, early, prefix+" udp")
		return
	}
	prefix += " -> " + h.HostPort()
	if h.Command != header.CommandTCP {
		s.refuse(sess, socks5.CommandNotSupported)
		s.cfg.Log.Printf("%s: command %d not supported", prefix, h.Command)
		return
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	target, err := s.cfg.Dial(dctx, "tcp", h.HostPort())
	cancel()
	if err != nil {
		code := socks5.ReplyCode(err)
		s.refuse(sess, code)
		s.cfg.Log.Printf("%s: connect failed (reply %02x): %v", prefix, code, err)
		return
	}
	if err := sess.SendData(nil); err != nil { // connected
		target.Close()
		c.Close()
		s.cfg.Log.Printf("%s: sending connect result: %v", prefix, err)
		return
	}
	if len(early) > 0 {
		if _, err := target.Write(early); err != nil {
			target.Close()
			c.Close()
			s.cfg.Log.Printf("%s: writing to target: %v", prefix, err)
			return
		}
	}
	err = tunnel.Relay(sess, target)
	status := "closed"
	if err != nil {
		status = "ended: " + rerr.Name(err)
	}
	s.cfg.Log.Printf("%s: %s (%d bytes up, %d down)", prefix, status, sess.Received.Load()+int64(len(early)), sess.Sent.Load())
}

// refuse sends the failed connect result (CLOSE with the reply code), then
// waits briefly for the client's own CLOSE (or end) before closing, so the
// result is not lost to a reset.
func (s *Server) refuse(sess *tunnel.Session, code byte) {
	c := sess.Conn()
	defer c.Close()
	if err := sess.SendClose([]byte{code}); err != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(drainWait))
	for {
		t, _, err := sess.Recv()
		if err != nil || t == frame.Close {
			return
		}
	}
}

// Wait waits for every connection's goroutine.
func (s *Server) Wait() { s.wg.Wait() }
