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
	"testing"
	"time"

	"reflexport/client"
	"reflexport/decide"
	"reflexport/header"
	"reflexport/replay"
	"reflexport/shape"
	"reflexport/v1"
	"reflexport/v2"
)

var (
	httpShape = shape.Shape{Kind: shape.HTTP, Host: "cdn.example.com", Path: "/assets/"} // 163 bytes
	tlsShape  = shape.Shape{Kind: shape.TLS, Host: "cdn.example.com"}                    // 181 bytes
)

func startShaped(t *testing.T, acceptV1 bool, s shape.Shape) rig {
	fb := newFallback(t)
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := decide.New(decide.Config{AcceptV1: acceptV1, AcceptV2: true, Users: [][16]byte{user},
		Filter: replay.New(1000, 120), Shape: s})
	logs := &syncBuffer{}
	srv := New(Config{Decider: d, Fallback: fb.addr, HelloWait: helloWait, Log: log.New(logs, "", 0)})
	go srv.Serve(ctx, ln)
	return rig{addr: ln.Addr().String(), fb: fb, log: logs}
}

// genuineFlight is a genuine client's first flight in shape s.
func genuineFlight(t *testing.T, s shape.Shape) []byte { return flightOf(t, s, user) }

// flightOf is the first flight in shape s of a client of user u (the tls
// filler made with u's filler key, SPEC.md 11.8).
func flightOf(t *testing.T, s shape.Shape, u [16]byte) []byte {
	e, _ := v2.ClientEphemeral(nil)
	cl, _ := v2.NewClient(u, e)
	msg1, err := cl.WriteHello(v2.Payload{Timestamp: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Encode(msg1, shape.NewFillerKey(cl.PSK()).Filler(msg1))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// refusedToFallback sends flight (in one write) and more bytes after it,
// and checks that the fallback got every byte in order, then the end of
// stream, that the client got the fallback's answer, and the reason.
func refusedToFallback(t *testing.T, r rig, flight []byte, reason string) {
	t.Helper()
	conn := dial(t, r.addr)
	if _, err := conn.Write(flight); err != nil {
		t.Fatal(err)
	}
	r.fb.expect(t, flight, atOnce)
	more := make([]byte, 300)
	rand.Read(more)
	conn.Write(more)
	r.fb.expect(t, more, testTimeout)
	conn.CloseWrite()
	r.fb.expectEnd(t)
	if got, err := io.ReadAll(conn); err != nil || !bytes.Equal(got, answer) {
		t.Fatalf("client got %q (%v), want the fallback's answer", got, err)
	}
	r.log.waitLog(t, "fallback ("+reason+")")
}

// A genuine client's flight in the other shape is refused and every byte of
// it goes to the fallback: a tls flight (181 bytes) to an http server (163)
// is decided on its first 163 bytes (bad_shape), an http flight to a tls
// server is a first read shorter than N (too_short, at once); shapes of
// the same size refuse each other with bad_shape.
func TestOtherShapeGoesToFallback(t *testing.T) {
	sameSizeHTTP := shape.Shape{Kind: shape.HTTP, Host: "cdn.example.com", Path: "/abcdefghijklmnopqrstuvwxy"} // 181
	for _, c := range []struct {
		name           string
		server, client shape.Shape
		reason         string
	}{
		{"tls flight to http server", httpShape, tlsShape, "bad_shape"},
		{"http flight to tls server", tlsShape, httpShape, "too_short"},
		{"same-size http flight to tls server", tlsShape, sameSizeHTTP, "bad_shape"},
		{"tls flight to same-size http server", sameSizeHTTP, tlsShape, "bad_shape"},
		{"raw flight to http server", httpShape, shape.Shape{}, "too_short"},
		{"tls flight to raw server", shape.Shape{}, tlsShape, "auth_failed"},
		{"http flight for another host", httpShape, shape.Shape{Kind: shape.HTTP, Host: "cdn.example.org", Path: "/assets/"}, "bad_shape"},
	} {
		for _, v1too := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/v1-compat too %v", c.name, v1too), func(t *testing.T) {
				r := startShaped(t, v1too, c.server)
				refusedToFallback(t, r, genuineFlight(t, c.client), c.reason)
			})
		}
	}
}

// A flight with one template byte changed, or a prefix of a genuine flight
// (a first read shorter than N), goes to the fallback with every byte.
func TestDamagedOrShortShapedFlight(t *testing.T) {
	for _, s := range []shape.Shape{httpShape, tlsShape} {
		t.Run(s.Kind.String(), func(t *testing.T) {
			r := startShaped(t, true, s)
			b := genuineFlight(t, s)
			b[len(b)-45] ^= 1
			refusedToFallback(t, r, b, "bad_shape")
			for _, n := range []int{1, 76, s.Size() - 1} {
				refusedToFallback(t, r, genuineFlight(t, s)[:n], "too_short")
			}
		})
	}
}

// The Go client in each shape through the Go server (with and without
// v1-compat accepted); a v1-compat client to a shaped server that accepts
// v1-compat is never shaped. The fallback gets nothing.
func TestShapedClientWorks(t *testing.T) {
	target := echo(t)
	tcp, _ := net.ResolveTCPAddr("tcp", target)
	h := header.Header{Command: header.CommandTCP, Port: uint16(tcp.Port), AddrType: header.IPv4, Addr: tcp.IP.To4()}
	for _, s := range []shape.Shape{{}, httpShape, tlsShape} {
		for _, v1too := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/v1-compat too %v", s.Kind, v1too), func(t *testing.T) {
				r := startShaped(t, v1too, s)
				profiles := []string{decide.ProfileV2}
				if v1too {
					profiles = append(profiles, decide.ProfileV1)
				}
				for _, profile := range profiles {
					for i := 0; i < 3; i++ {
						tun, err := client.Dial(context.Background(), client.Config{Server: r.addr, User: user,
							Profile: profile, Shape: s}, h)
						if err != nil {
							t.Fatalf("%s dial %d: %v\n%s", profile, i, err, r.log.String())
						}
						tun.Conn().SetDeadline(time.Now().Add(testTimeout))
						if err := tun.SendData([]byte("ping")); err != nil {
							t.Fatal(err)
						}
						if _, p, err := tun.Recv(); err != nil || string(p) != "ping" {
							t.Fatalf("echo: %q %v", p, err)
						}
						tun.Conn().Close()
					}
				}
				r.fb.expectNothing(t)
			})
		}
	}
}

// A v1 hello read with a shaped flight's larger buffer, with bytes after
// it in the same read: decided on its 76 bytes, and when refused, every
// byte goes to the fallback.
func TestV1HelloWithMoreOnShapedServer(t *testing.T) {
	r := startShaped(t, true, httpShape)
	h := v1.ClientHello{UserID: [16]byte{1}, Timestamp: time.Now().Unix()}.Encode() // an unknown user
	refusedToFallback(t, r, append(h, make([]byte, 100)...), "unknown_user")
}

// The tls filler (SPEC.md 11.8, 12.1): a genuine flight with a byte of its
// filler changed (flight offsets 56, 60, 75) is bad_shape, and every byte
// reaches the fallback; a flight whose filler was drawn at random (as
// before the filler was the user's HMAC) too. A genuine flight of a client
// of another user (unknown here) is auth_failed, not bad_shape: the trial
// comes first. The genuine flight of each is then accepted.
func TestTLSFillerRefusals(t *testing.T) {
	for _, v1too := range []bool{false, true} {
		t.Run(fmt.Sprintf("v1-compat too %v", v1too), func(t *testing.T) {
			r := startShaped(t, v1too, tlsShape)
			for _, off := range []int{56, 60, 75} {
				b := genuineFlight(t, tlsShape)
				b[off] ^= 0x01
				refusedToFallback(t, r, b, "bad_shape")
			}
			b := genuineFlight(t, tlsShape)
			rand.Read(b[56:76])
			refusedToFallback(t, r, b, "bad_shape")
			other := [16]byte{0x01, 0x02, 0x03}
			refusedToFallback(t, r, flightOf(t, tlsShape, other), "auth_failed")
			// Each connection logs its refusal when it has ended: wait
			// for the four bad_shape lines (refusedToFallback saw one).
			n := 0
			for deadline := time.Now().Add(testTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				if n = strings.Count(r.log.String(), "fallback (bad_shape)"); n >= 4 {
					break
				}
			}
			if n != 4 {
				t.Fatalf("%d bad_shape refusals logged, want 4\n%s", n, r.log.String())
			}
		})
	}
}
