package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"reflexport/shape"
)

// The shape flags: http and tls need a host; host and path are checked as
// SPEC.md 11.8 says; a parameter the shape does not use is ignored.
func TestShapeFlags(t *testing.T) {
	const u = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
	base := map[string][]string{
		"server": {"server", "--listen", "127.0.0.1:0", "--user", u, "--fallback", "127.0.0.1:1"},
		"client": {"client", "--server", "127.0.0.1:1", "--socks", "127.0.0.1:0", "--user", u},
	}
	for _, bad := range [][]string{
		{"--first-flight", "HTTP"},
		{"--first-flight", "quic"},
		{"--first-flight", "http"},
		{"--first-flight", "tls"},
		{"--first-flight", "http", "--first-flight-host", "a_b"},
		{"--first-flight", "tls", "--first-flight-host", strings.Repeat("a", 254)},
		{"--first-flight", "http", "--first-flight-host", "a", "--first-flight-path", "x"},
		{"--first-flight", "http", "--first-flight-host", "a", "--first-flight-path", "/" + strings.Repeat("p", 64)},
		{"--first-flight", "http", "--first-flight-host", "a", "--first-flight-path", "/a%20"},
	} {
		for _, side := range []string{"server", "client"} {
			args := append(append([]string{}, base[side]...), bad...)
			var out, errb bytes.Buffer
			if code := run(args, &out, &errb); code != 2 {
				t.Errorf("%q: exit %d", args, code)
			}
			if lines := strings.Count(errb.String(), "\n"); lines != 1 {
				t.Errorf("%q: %d lines of error: %q", args, lines, errb.String())
			}
		}
	}
	for _, c := range []struct {
		args []string
		want shape.Shape
	}{
		{nil, shape.Shape{}},
		{[]string{"--first-flight", "raw", "--first-flight-host", "a_b", "--first-flight-path", "x"}, shape.Shape{}},
		{[]string{"--first-flight", "tls", "--first-flight-host", "a", "--first-flight-path", "x"}, shape.Shape{Kind: shape.TLS, Host: "a"}},
		{[]string{"--first-flight", "http", "--first-flight-host", "cdn.example.com"}, shape.Shape{Kind: shape.HTTP, Host: "cdn.example.com", Path: "/"}},
		{[]string{"--first-flight", "http", "--first-flight-host", "a", "--first-flight-path", "/assets/"}, shape.Shape{Kind: shape.HTTP, Host: "a", Path: "/assets/"}},
	} {
		fs := newFlagSet("server", nil)
		sf := addShapeFlags(fs)
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		got, err := sf.shape("server")
		if err != nil || got != c.want {
			t.Errorf("%q: %+v %v, want %+v", c.args, got, err, c.want)
		}
	}
}

// `reflex-go server --first-flight tls` accepts a genuine tls flight and
// hands a raw one to the fallback.
func TestServerCommandShape(t *testing.T) {
	fb, fbGot := restartFallback(t)
	addr, _, stop := startServerCmd(t, "--user", restartUser, "--fallback", fb,
		"--first-flight", "tls", "--first-flight-host", "cdn.example.com")
	defer stop()
	s := shape.Shape{Kind: shape.TLS, Host: "cdn.example.com"}
	hello, cl := newHello(t)
	flight, err := s.Encode(hello, shape.NewFillerKey(cl.PSK()).Filler(hello))
	if err != nil {
		t.Fatal(err)
	}
	if !helloAccepted(t, addr, flight, cl) {
		t.Fatal("tls flight refused")
	}
	// The same message 1 with a filler the user did not make: bad_shape,
	// to the fallback byte for byte.
	hello2, _ := newHello(t)
	forged, err := s.Encode(hello2, make([]byte, shape.FillerSize))
	if err != nil {
		t.Fatal(err)
	}
	if helloAccepted(t, addr, forged, nil) {
		t.Fatal("tls flight with a zero filler accepted")
	}
	select {
	case got := <-fbGot:
		if !bytes.Equal(got, forged) {
			t.Fatalf("fallback got %x", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("fallback got nothing")
	}
	raw, _ := newHello(t)
	if helloAccepted(t, addr, raw, nil) {
		t.Fatal("raw flight accepted")
	}
	select {
	case got := <-fbGot:
		if !bytes.Equal(got, raw) {
			t.Fatalf("fallback got %x", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("fallback got nothing")
	}
}
