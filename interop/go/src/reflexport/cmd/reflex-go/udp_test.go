package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"reflexport/client"
	"reflexport/decide"
	"reflexport/frame"
	"reflexport/header"
)

var udpRequest = header.Header{Command: header.CommandUDP, AddrType: header.IPv4, Addr: []byte{0, 0, 0, 0}}

func TestBadUDPFlags(t *testing.T) {
	base := []string{"server", "--listen", "127.0.0.1:0", "--user", restartUser, "--fallback", "127.0.0.1:1"}
	for _, extra := range [][]string{
		{"--udp-associations-per-user", "0"},
		{"--udp-associations-per-user", "-1"},
		{"--udp-associations-per-user", "x"},
		{"--udp-idle-timeout", "0s"},
		{"--udp-idle-timeout", "60"},
		{"--no-udp=maybe"},
	} {
		var out, errb bytes.Buffer
		if code := run(append(append([]string{}, base...), extra...), &out, &errb); code != 2 {
			t.Errorf("%q: exit %d", extra, code)
		}
		if lines := strings.Count(errb.String(), "\n"); lines != 1 {
			t.Errorf("%q: %d lines of error: %q", extra, lines, errb.String())
		}
	}
}

// udpDial asks the server for an association and returns the refusal's
// code, 0 for an association (closed again unless keep).
func udpDial(t *testing.T, addr string, keep bool) (*client.Tunnel, byte) {
	t.Helper()
	u, _ := decide.ParseUUID(restartUser)
	tun, err := client.Dial(context.Background(), client.Config{Server: addr, User: u, Profile: decide.ProfileV2}, udpRequest)
	var rf *client.RefusedError
	switch {
	case errors.As(err, &rf):
		return nil, rf.Code
	case err != nil:
		t.Fatal(err)
	}
	if !keep {
		tun.Conn().Close()
	}
	return tun, 0
}

// The flags reach the server: --no-udp refuses with 02, a cap of 1 refuses
// the second association, --udp-idle-timeout ends an idle one with CLOSE.
func TestServerCommandUDPFlags(t *testing.T) {
	fb, _ := restartFallback(t)
	args := []string{"--user", restartUser, "--fallback", fb}
	addr, _, stop := startServerCmd(t, append(args, "--no-udp")...)
	if _, code := udpDial(t, addr, false); code != 2 {
		t.Fatalf("--no-udp: reply %d", code)
	}
	stop()

	addr, _, stop = startServerCmd(t, append(args, "--udp-associations-per-user", "1", "--udp-idle-timeout", "200ms")...)
	defer stop()
	tun, code := udpDial(t, addr, true)
	if code != 0 {
		t.Fatalf("first association: reply %d", code)
	}
	if _, code := udpDial(t, addr, false); code != 2 {
		t.Fatalf("second association: reply %d", code)
	}
	tun.Conn().SetDeadline(time.Now().Add(20 * time.Second))
	if typ, p, err := tun.Recv(); err != nil || typ != frame.Close || len(p) != 0 {
		t.Fatalf("idle end: %v %x %v", typ, p, err)
	}
	tun.SendClose(nil)
	tun.Conn().Close()
}
