// Package client is the Reflex client: a local SOCKS5 server whose every
// connection (CONNECT), or UDP association (UDP ASSOCIATE, udp.go), is
// tunnelled to a Reflex server.
package client

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"reflexport/decide"
	"reflexport/dh"
	"reflexport/frame"
	"reflexport/header"
	"reflexport/rerr"
	"reflexport/shape"
	"reflexport/socks5"
	"reflexport/tunnel"
	"reflexport/v1"
	"reflexport/v2"
)

// Timeouts of this client (SPEC.md sets none for the client).
const (
	DialTimeout      = 10 * time.Second
	HandshakeTimeout = 10 * time.Second
	// ResultTimeout bounds the wait for the connect result; the server's
	// own connect timeout is 10 s.
	ResultTimeout = 30 * time.Second
)

// Config configures a Client.
type Config struct {
	Server  string // host:port of the Reflex server
	User    [16]byte
	Profile string // decide.ProfileV2 or decide.ProfileV1
	Log     *log.Logger
	Now     func() int64
	// Shape is v2's first flight (SPEC.md 11.8), the server's; the zero
	// value is raw. v1-compat hellos are never shaped.
	Shape shape.Shape
}

// Client serves SOCKS5 and tunnels each connection.
type Client struct {
	cfg Config
	wg  sync.WaitGroup
}

// New returns a client.
func New(cfg Config) *Client {
	if cfg.Log == nil {
		cfg.Log = log.New(os.Stderr, "", log.LstdFlags)
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().Unix() }
	}
	if cfg.Profile == "" {
		cfg.Profile = decide.ProfileV2
	}
	return &Client{cfg: cfg}
}

// Serve accepts SOCKS5 connections until ctx is done or ln fails.
func (c *Client) Serve(ctx context.Context, ln net.Listener) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		conn, err := ln.Accept()
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
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.handle(ctx, conn)
		}()
	}
}

// Wait waits for every connection's goroutine.
func (c *Client) Wait() { c.wg.Wait() }

func (c *Client) handle(ctx context.Context, local net.Conn) {
	peer := local.RemoteAddr().String()
	local.SetDeadline(time.Now().Add(HandshakeTimeout))
	h, err := socks5.Accept(local)
	if err != nil {
		c.cfg.Log.Printf("socks %s: %v", peer, err)
		local.Close()
		return
	}
	local.SetDeadline(time.Time{})
	if h.Command == header.CommandUDP {
		c.associate(ctx, local, h)
		return
	}
	prefix := fmt.Sprintf("socks %s -> %s", peer, h.HostPort())
	sess, err := Dial(ctx, c.cfg, h)
	if err != nil {
		code := socks5.GeneralFailure
		var rf *RefusedError
		if errors.As(err, &rf) {
			code = rf.Code
		}
		socks5.WriteReply(local, code)
		local.Close()
		c.cfg.Log.Printf("%s: failed (reply %02x): %v", prefix, code, err)
		return
	}
	if err := socks5.WriteReply(local, socks5.Succeeded); err != nil {
		sess.SendClose(nil)
		sess.Conn().Close()
		local.Close()
		c.cfg.Log.Printf("%s: socks reply: %v", prefix, err)
		return
	}
	if len(sess.early) > 0 {
		if _, err := local.Write(sess.early); err != nil {
			sess.Conn().Close()
			local.Close()
			c.cfg.Log.Printf("%s: %v", prefix, err)
			return
		}
	}
	err = tunnel.Relay(sess.Session, local)
	status := "closed"
	if err != nil {
		status = "ended: " + rerr.Name(err)
	}
	c.cfg.Log.Printf("%s: %s via %s (%d bytes up, %d down)", prefix, status, c.cfg.Profile, sess.Sent.Load(), sess.Received.Load()+int64(len(sess.early)))
}

// RefusedError is a connect result of failure: the server's CLOSE with a
// SOCKS5 reply code.
type RefusedError struct{ Code byte }

func (e *RefusedError) Error() string { return fmt.Sprintf("server refused: reply code %02x", e.Code) }

// Tunnel is an open tunnel: the session and any data that came with the
// connect result (a Go-original server sends no result, only data).
type Tunnel struct {
	*tunnel.Session
	early []byte
}

// Dial connects to the Reflex server, runs the handshake of the configured
// profile, sends the request header alone in the first DATA frame and
// waits for the connect result (SPEC.md 13.4).
func Dial(ctx context.Context, cfg Config, h header.Header) (*Tunnel, error) {
	hdr, err := h.Encode()
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = func() int64 { return time.Now().Unix() }
	}
	d := net.Dialer{Timeout: DialTimeout}
	conn, err := d.DialContext(ctx, "tcp", cfg.Server)
	if err != nil {
		return nil, &RefusedError{Code: socks5.ReplyCode(err)}
	}
	conn.SetDeadline(time.Now().Add(HandshakeTimeout))
	var s *frame.Sealer
	var o *frame.Opener
	switch cfg.Profile {
	case decide.ProfileV1:
		s, o, err = handshakeV1(conn, cfg)
	case decide.ProfileV2:
		s, o, err = handshakeV2(conn, cfg)
	default:
		err = fmt.Errorf("unknown profile %q", cfg.Profile)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	sess := tunnel.New(conn, s, o)
	if err := sess.SendData(hdr); err != nil {
		conn.Close()
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(ResultTimeout))
	t, p, err := sess.Recv()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("waiting for the connect result: %w", err)
	}
	conn.SetDeadline(time.Time{})
	if t == frame.Close {
		code := socks5.GeneralFailure
		if len(p) == 1 && p[0] != socks5.Succeeded {
			code = p[0]
		}
		sess.SendClose(nil)
		conn.Close()
		return nil, &RefusedError{Code: code}
	}
	return &Tunnel{Session: sess, early: append([]byte(nil), p...)}, nil
}

func handshakeV1(conn net.Conn, cfg Config) (*frame.Sealer, *frame.Opener, error) {
	e, err := dh.Generate(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	defer dh.Wipe(e.Private[:])
	hello := v1.ClientHello{PublicKey: e.Public, UserID: cfg.User, Timestamp: cfg.Now()}
	if _, err := rand.Read(hello.Nonce[:]); err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(hello.Encode()); err != nil {
		return nil, nil, err
	}
	var b [v1.ServerHelloSize]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return nil, nil, err
	}
	sh, err := v1.DecodeServerHello(b[:])
	if err != nil {
		return nil, nil, err
	}
	shared, key, err := v1.Derive(e.Private, sh.PublicKey)
	dh.Wipe(shared[:])
	if err != nil {
		return nil, nil, err
	}
	s, o := v1.Frames(key)
	dh.Wipe(key[:])
	return s, o, nil
}

func handshakeV2(conn net.Conn, cfg Config) (*frame.Sealer, *frame.Opener, error) {
	e, err := v2.ClientEphemeral(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	hs, err := v2.NewClient(cfg.User, e)
	dh.Wipe(e.Private[:])
	if err != nil {
		return nil, nil, err
	}
	p := v2.Payload{Timestamp: cfg.Now()}
	if _, err := rand.Read(p.Nonce[:]); err != nil {
		return nil, nil, err
	}
	msg1, err := hs.WriteHello(p)
	if err != nil {
		return nil, nil, err
	}
	// The first flight: message 1 in the server's shape, in one write (at
	// most 457 bytes: one TCP segment). The tls shape's filler is the first
	// 20 bytes of HMAC-SHA256 over message 1 keyed with the user's filler
	// key (HKDF-SHA256 of the PSK, salt "reflex/2 tls filler").
	var filler []byte
	if cfg.Shape.Kind == shape.TLS {
		filler = shape.NewFillerKey(hs.PSK()).Filler(msg1)
	}
	flight, err := cfg.Shape.Encode(msg1, filler)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.Write(flight); err != nil {
		return nil, nil, err
	}
	var b [v2.ServerHelloSize]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return nil, nil, err
	}
	keys, err := hs.ReadHello(b[:])
	if err != nil {
		return nil, nil, err
	}
	s, o := keys.ClientFrames()
	return s, o, nil
}
