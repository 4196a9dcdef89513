package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net"
	"testing"
	"time"

	"reflexport/client"
	"reflexport/datagram"
	"reflexport/decide"
	"reflexport/frame"
	"reflexport/header"
	"reflexport/replay"
	"reflexport/tunnel"
	"reflexport/v2"
)

// startUDP starts a server (v2) configured by edit; its Serve stops when
// ctx does.
func startUDP(t *testing.T, ctx context.Context, edit func(*Config)) (*Server, string, *syncBuffer) {
	ln := listen(t)
	d := decide.New(decide.Config{AcceptV2: true, Users: [][16]byte{user}, Filter: replay.New(1000, 120)})
	logs := &syncBuffer{}
	cfg := Config{Decider: d, Fallback: "127.0.0.1:1", HelloWait: helloWait, Log: log.New(logs, "", 0)}
	if edit != nil {
		edit(&cfg)
	}
	srv := New(cfg)
	go srv.Serve(ctx, ln)
	return srv, ln.Addr().String(), logs
}

var udpRequest = header.Header{Command: header.CommandUDP, AddrType: header.IPv4, Addr: []byte{0, 0, 0, 0}}

// udpSession runs a v2 handshake by hand and sends the UDP request with
// first after the header in the same frame; it returns the session once
// the connect result (an empty DATA frame) is in.
func udpSession(t *testing.T, addr string, first []byte) *tunnel.Session {
	t.Helper()
	conn := dial(t, addr)
	e, _ := v2.ClientEphemeral(nil)
	hs, err := v2.NewClient(user, e)
	if err != nil {
		t.Fatal(err)
	}
	msg1, err := hs.WriteHello(v2.Payload{Timestamp: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(msg1)
	reply := make([]byte, v2.ServerHelloSize)
	if _, err := io.ReadFull(conn, reply); err != nil {
		t.Fatal(err)
	}
	keys, err := hs.ReadHello(reply)
	if err != nil {
		t.Fatal(err)
	}
	s, o := keys.ClientFrames()
	sess := tunnel.New(conn, s, o)
	hdr, _ := udpRequest.Encode()
	if err := sess.SendData(append(hdr, first...)); err != nil {
		t.Fatal(err)
	}
	if typ, p, err := sess.Recv(); err != nil || typ != frame.Data || len(p) != 0 {
		t.Fatalf("connect result: %v %x %v", typ, p, err)
	}
	return sess
}

// udpPeer is a UDP socket on 127.0.0.1 that answers every datagram with
// the answers answer gives (echo when nil).
func udpPeer(t *testing.T, answer func([]byte) [][]byte) *net.UDPAddr {
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, datagram.RecvBuffer)
		for {
			n, from, err := pc.ReadFromUDP(buf)
			if err != nil {
				return
			}
			out := [][]byte{buf[:n]}
			if answer != nil {
				out = answer(buf[:n])
			}
			for _, b := range out {
				pc.WriteToUDP(b, from)
			}
		}
	}()
	return pc.LocalAddr().(*net.UDPAddr)
}

func payload(t *testing.T, d datagram.Datagram) []byte {
	t.Helper()
	b, err := d.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func to(a *net.UDPAddr, data string) datagram.Datagram {
	return datagram.Datagram{AddrType: datagram.IPv4, Addr: a.IP.To4(), Port: uint16(a.Port), Data: []byte(data)}
}

// expectDatagram reads the next frame: a DATA frame of data from src.
func expectDatagram(t *testing.T, sess *tunnel.Session, src *net.UDPAddr, data []byte) {
	t.Helper()
	typ, p, err := sess.Recv()
	if err != nil || typ != frame.Data {
		t.Fatalf("%v %v", typ, err)
	}
	want := payload(t, datagram.Datagram{AddrType: datagram.IPv4, Addr: src.IP.To4(), Port: uint16(src.Port), Data: data})
	if !bytes.Equal(p, want) {
		t.Fatalf("got %x, want %x", p, want)
	}
}

// The first datagram may follow the header in the request frame; every
// datagram goes out, is answered with its source (ATYP 01 for IPv4 from
// a dual-stack socket); port 0, a name that does not resolve and a reply
// too large for a frame are dropped and counted, the rest goes on; an
// empty DATA frame carries nothing. The client's CLOSE is answered with
// CLOSE, then the end, and the user's slot is free before that CLOSE.
func TestUDPAssociation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, addr, logs := startUDP(t, ctx, nil)
	echo := udpPeer(t, nil)
	big := udpPeer(t, func(b []byte) [][]byte {
		return [][]byte{make([]byte, datagram.MaxIPv4Data+1), make([]byte, datagram.MaxIPv4Data)}
	})
	sess := udpSession(t, addr, payload(t, to(echo, "first")))
	expectDatagram(t, sess, echo, []byte("first"))
	if n := srv.UDPAssociations(user); n != 1 {
		t.Fatalf("%d associations held", n)
	}
	sess.SendData(nil)
	sess.SendData(payload(t, to(&net.UDPAddr{IP: echo.IP}, "port 0")))
	sess.SendData(payload(t, datagram.Datagram{AddrType: datagram.Domain, Addr: []byte("no such host.invalid"), Port: 9}))
	sess.SendData(payload(t, to(echo, "")))
	expectDatagram(t, sess, echo, nil)
	if srv.UDPCount(UDPDropUnroutable) != 2 {
		t.Fatalf("unroutable: %d", srv.UDPCount(UDPDropUnroutable))
	}
	sess.SendData(payload(t, to(big, "x")))
	expectDatagram(t, sess, big, make([]byte, datagram.MaxIPv4Data))
	if srv.UDPCount(UDPDropTooLarge) != 1 {
		t.Fatalf("too large: %d", srv.UDPCount(UDPDropTooLarge))
	}
	// A domain that resolves.
	sess.SendData(payload(t, datagram.Datagram{AddrType: datagram.Domain, Addr: []byte("127.0.0.1"), Port: uint16(echo.Port), Data: []byte("name")}))
	expectDatagram(t, sess, echo, []byte("name"))
	sess.SendClose(nil)
	if typ, p, err := sess.Recv(); err != nil || typ != frame.Close || len(p) != 0 {
		t.Fatalf("the server's answer to CLOSE: %v %x %v", typ, p, err)
	}
	if n := srv.UDPAssociations(user); n != 0 {
		t.Fatalf("%d associations held after CLOSE", n)
	}
	if _, _, err := sess.Recv(); err != io.EOF {
		t.Fatalf("after both CLOSEs: %v", err)
	}
	if srv.UDPCount(UDPSent) != 4 || srv.UDPCount(UDPReceived) != 4 {
		t.Fatalf("sent %d, received %d", srv.UDPCount(UDPSent), srv.UDPCount(UDPReceived))
	}
	logs.waitLog(t, "closed by the client (datagrams: 4 sent, 4 received, 2 unroutable, 1 too large)")
}

// --no-udp and the per-user cap refuse with 02; a slot is free again once
// the association's CLOSE came back; commands but 01 and 02 get 07.
func TestUDPRefusals(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, off, _ := startUDP(t, ctx, func(c *Config) { c.NoUDP = true })
	_, capped, _ := startUDP(t, ctx, func(c *Config) { c.UDPPerUser = 1 })
	cfg := client.Config{User: user, Profile: decide.ProfileV2}
	refused := func(addr string, h header.Header, code byte) {
		t.Helper()
		cfg.Server = addr
		tun, err := client.Dial(ctx, cfg, h)
		var rf *client.RefusedError
		if !errors.As(err, &rf) || rf.Code != code {
			t.Fatalf("%s %v: %v, want refusal %02x", addr, h, err, code)
		}
		if tun != nil {
			t.Fatal("a tunnel with the refusal")
		}
	}
	refused(off, udpRequest, 2)
	cmd3 := udpRequest
	cmd3.Command = 3
	refused(off, cmd3, 7)
	cfg.Server = capped
	first, err := client.Dial(ctx, cfg, udpRequest)
	if err != nil {
		t.Fatal(err)
	}
	refused(capped, udpRequest, 2)
	first.SendClose(nil)
	first.Conn().SetDeadline(time.Now().Add(testTimeout))
	if typ, _, err := first.Recv(); err != nil || typ != frame.Close {
		t.Fatalf("%v %v", typ, err)
	}
	cfg.Server = capped
	again, err := client.Dial(ctx, cfg, udpRequest)
	if err != nil {
		t.Fatalf("after the first ended: %v", err)
	}
	again.Conn().Close()
}

// No datagram either way for the idle timeout: the server's CLOSE (empty),
// not before; then the end once the client's CLOSE is in. The server's
// shutdown ends an association the same way.
func TestUDPIdleAndShutdown(t *testing.T) {
	const idle = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, addr, _ := startUDP(t, ctx, func(c *Config) { c.UDPIdleTimeout = idle })
	echo := udpPeer(t, nil)
	sess := udpSession(t, addr, nil)
	sess.SendData(payload(t, to(echo, "x")))
	expectDatagram(t, sess, echo, []byte("x"))
	last := time.Now()
	typ, p, err := sess.Recv()
	if err != nil || typ != frame.Close || len(p) != 0 {
		t.Fatalf("%v %x %v", typ, p, err)
	}
	if waited := time.Since(last); waited < idle-50*time.Millisecond {
		t.Fatalf("closed after %v idle, timeout %v", waited, idle)
	}
	if n := srv.UDPAssociations(user); n != 0 {
		t.Fatalf("%d held", n)
	}
	sess.SendClose(nil)
	if _, _, err := sess.Recv(); err != io.EOF {
		t.Fatalf("after CLOSE: %v", err)
	}

	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	_, addr2, _ := startUDP(t, sctx, nil)
	sess = udpSession(t, addr2, nil)
	stop()
	if typ, _, err := sess.Recv(); err != nil || typ != frame.Close {
		t.Fatalf("shutdown: %v %v", typ, err)
	}
}

// A DATA frame that is not a datagram is a session error: the connection
// closes without CLOSE, nothing is sent.
func TestUDPBadDatagramEndsTheSession(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, addr, logs := startUDP(t, ctx, nil)
	sess := udpSession(t, addr, nil)
	sess.SendData([]byte{5, 1, 2, 3})
	typ, _, err := sess.Recv()
	if err == nil {
		t.Fatalf("got a frame of type %v", typ)
	}
	if err != io.ErrUnexpectedEOF && !isReset(err) {
		t.Fatalf("%v", err)
	}
	logs.waitLog(t, "ended: bad_address_type")
	if srv.UDPCount(UDPSent) != 0 || srv.UDPAssociations(user) != 0 {
		t.Fatal("sent, or the slot held")
	}
}
