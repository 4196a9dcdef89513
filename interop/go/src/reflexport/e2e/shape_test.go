package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log"
	"net"
	"sync"
	"testing"
	"time"

	"reflexport/client"
	"reflexport/decide"
	"reflexport/replay"
	"reflexport/server"
	"reflexport/shape"
	"reflexport/socks5"
	"reflexport/v2"
)

// captureProxy relays one TCP hop and records the first chunk each
// connection's client sent (its first flight as the server reads it).
type captureProxy struct {
	addr   string
	mu     sync.Mutex
	firsts [][]byte
}

func newCaptureProxy(t *testing.T, to string) *captureProxy {
	ln := listen(t)
	p := &captureProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(testTimeout))
				up, err := net.DialTimeout("tcp", to, testTimeout)
				if err != nil {
					return
				}
				defer up.Close()
				buf := make([]byte, 4096)
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				p.mu.Lock()
				p.firsts = append(p.firsts, append([]byte(nil), buf[:n]...))
				p.mu.Unlock()
				up.Write(buf[:n])
				go func() {
					io.Copy(up, c)
					up.(*net.TCPConn).CloseWrite()
				}()
				io.Copy(c, up)
			}()
		}
	}()
	return p
}

// Through the Go client's SOCKS5 port and the Go server, in each shape:
// data both ways, byte-exact; the first flight on the wire is the shape's
// (its size, and it decodes in that shape); the fallback gets nothing.
func TestEndToEndShapes(t *testing.T) {
	target := echo(t)
	host, port := hostPort(t, target)
	for _, s := range []shape.Shape{
		{},
		{Kind: shape.HTTP, Host: "cdn.example.com", Path: "/assets/"},
		{Kind: shape.HTTP, Host: "a", Path: "/"},
		{Kind: shape.TLS, Host: "cdn.example.com"},
	} {
		t.Run(s.Kind.String(), func(t *testing.T) {
			fb := newFallback(t)
			ln := listen(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d := decide.New(decide.Config{AcceptV1: true, AcceptV2: true, Users: [][16]byte{user},
				Filter: replay.New(1000, 120), Shape: s})
			logs := &syncBuffer{}
			srv := server.New(server.Config{Decider: d, Fallback: fb.addr, HelloWait: 2 * time.Second,
				Log: log.New(logs, "", 0)})
			go srv.Serve(ctx, ln)
			proxy := newCaptureProxy(t, ln.Addr().String())
			cln := listen(t)
			cl := client.New(client.Config{Server: proxy.addr, User: user, Profile: decide.ProfileV2,
				Shape: s, Log: log.New(io.Discard, "", 0)})
			go cl.Serve(ctx, cln)
			var wg sync.WaitGroup
			for i := 0; i < 3; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					c, code := socksConnect(t, cln.Addr().String(), host, port)
					defer c.Close()
					if code != socks5.Succeeded {
						t.Errorf("reply %d\n%s", code, logs.String())
						return
					}
					data := make([]byte, 100000+i)
					rand.Read(data)
					go func() {
						c.Write(data)
						c.(*net.TCPConn).CloseWrite()
					}()
					back, err := io.ReadAll(c)
					if err != nil || !bytes.Equal(back, data) {
						t.Errorf("echo differs (%d of %d bytes, %v)", len(back), len(data), err)
					}
				}(i)
			}
			wg.Wait()
			proxy.mu.Lock()
			defer proxy.mu.Unlock()
			if len(proxy.firsts) != 3 {
				t.Fatalf("%d connections", len(proxy.firsts))
			}
			for _, f := range proxy.firsts {
				if len(f) != s.Size() {
					t.Fatalf("first flight of %d bytes, want %d", len(f), s.Size())
				}
				m, filler, err := s.Decode(f)
				if err != nil {
					t.Fatalf("first flight does not decode: %v", err)
				}
				// The tls filler is the user's HMAC of message 1, keyed
				// with the user's filler key (SPEC.md 11.8), not random.
				if s.Kind == shape.TLS && !bytes.Equal(filler, shape.NewFillerKey(v2.PSK(user)).Filler(m)) {
					t.Fatalf("tls filler %x is not the user's", filler)
				}
			}
			select {
			case b := <-fb.got:
				t.Fatalf("fallback got %q", b)
			default:
			}
		})
	}
}
