// Package server is the Reflex server: per connection the decision of
// SPEC.md section 12 (the first flight judged at once, the hello wait while
// nothing has come, every received byte to the fallback), then the session
// of section 13.
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
	drainWait             = 5 * time.Second
)

// Config configures a Server.
type Config struct {
	Decider        *decide.Decider
	Fallback       string // host:port of the fallback web server
	HelloWait      time.Duration
	ConnectTimeout time.Duration
	Log            *log.Logger
	// Dial connects to targets and the fallback; net.Dialer by default.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Server serves Reflex connections.
type Server struct {
	cfg Config
	wg  sync.WaitGroup
}

// New returns a server.
func New(cfg Config) *Server {
	if cfg.HelloWait == 0 {
		cfg.HelloWait = DefaultHelloWait
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Log == nil {
		cfg.Log = log.New(os.Stderr, "", log.LstdFlags)
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	return &Server{cfg: cfg}
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
	peer := c.RemoteAddr().String()
	d := s.cfg.Decider
	// Read only up to the 76 bytes of a hello, never more, and judge the
	// first flight (section 12.1): a genuine client sends its hello in one
	// write, so a first read of fewer than 76 bytes goes to the fallback at
	// once. The hello wait applies only while nothing at all has come.
	buf := make([]byte, decide.HelloSize)
	c.SetReadDeadline(time.Now().Add(s.cfg.HelloWait))
	var n int
	var err error
	for n == 0 && err == nil {
		n, err = c.Read(buf)
	}
	buf = buf[:n]
	var reason error
	switch {
	case n == decide.HelloSize:
		// A whole hello: decided below.
	case n > 0:
		reason = d.ShortFirstFlight(buf)
	default:
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			reason = rerr.HandshakeTimeout
		case errors.Is(err, io.EOF):
			// The client ended its stream having sent nothing: no hello
			// can come, so this is decided now (too_short).
			reason = rerr.TooShort
		default:
			s.cfg.Log.Printf("conn %s: read error before hello: %v", peer, err)
			c.Close()
			return
		}
	}
	var acc *decide.Accepted
	if reason == nil {
		acc, reason = d.Decide(buf)
	}
	if reason != nil {
		s.fallback(ctx, c, buf, reason)
		return
	}
	c.SetReadDeadline(time.Time{})
	if _, err := c.Write(acc.Reply); err != nil {
		s.cfg.Log.Printf("conn %s: %s user %s: writing server hello: %v", peer, acc.Profile, acc.UserString(), err)
		c.Close()
		return
	}
	s.session(ctx, c, acc)
}

func (s *Server) session(ctx context.Context, c net.Conn, acc *decide.Accepted) {
	peer := c.RemoteAddr().String()
	prefix := fmt.Sprintf("conn %s: %s user %s", peer, acc.Profile, acc.UserString())
	sess := tunnel.New(c, acc.Sealer, acc.Opener)
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

// fallback hands the connection to the fallback server with every byte
// received so far, then copies both ways.
func (s *Server) fallback(ctx context.Context, c net.Conn, got []byte, reason error) {
	peer := c.RemoteAddr().String()
	c.SetReadDeadline(time.Time{})
	dctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	fb, err := s.cfg.Dial(dctx, "tcp", s.cfg.Fallback)
	cancel()
	if err != nil {
		s.cfg.Log.Printf("conn %s: fallback (%s) unreachable: %v", peer, rerr.Name(reason), err)
		c.Close()
		return
	}
	if len(got) > 0 {
		if _, err := fb.Write(got); err != nil {
			s.cfg.Log.Printf("conn %s: fallback (%s): write: %v", peer, rerr.Name(reason), err)
			fb.Close()
			c.Close()
			return
		}
	}
	up, down := Pipe(c, fb)
	s.cfg.Log.Printf("conn %s: fallback (%s): %d bytes to fallback, %d back", peer, rerr.Name(reason), up+int64(len(got)), down)
}

// Pipe copies both ways between a and b with half-close, then closes both.
// An error (not an end of stream) on either way closes both at once.
func Pipe(a, b net.Conn) (aToB, bToA int64) {
	var wg sync.WaitGroup
	wg.Add(2)
	copyHalf := func(dst, src net.Conn, n *int64) {
		defer wg.Done()
		var err error
		*n, err = io.Copy(dst, src)
		if err != nil {
			a.Close()
			b.Close()
			return
		}
		tunnel.CloseWrite(dst)
	}
	go copyHalf(b, a, &aToB)
	go copyHalf(a, b, &bToA)
	wg.Wait()
	a.Close()
	b.Close()
	return
}

// Wait waits for every connection's goroutine.
func (s *Server) Wait() { s.wg.Wait() }
