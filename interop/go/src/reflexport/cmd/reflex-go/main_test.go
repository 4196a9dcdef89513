package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"reflexport/decide"
	"reflexport/v2"
)

func TestBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"bogus"},
		{"server", "--listen", "127.0.0.1:0", "--fallback", "127.0.0.1:1"},
		{"server", "--listen", "127.0.0.1:0", "--user", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"},
		{"server", "--listen", "127.0.0.1:0", "--user", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "--fallback", "x:1", "--profile", "v3"},
		{"server", "--nope"},
		{"client", "--server", "127.0.0.1:1", "--socks", "127.0.0.1:0"},
		{"client", "--server", "127.0.0.1:1", "--socks", "127.0.0.1:0", "--user", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "--profile", "v1"},
		{"check"},
		{"server", "--listen", "127.0.0.1:0", "--user", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "--fallback", "127.0.0.1:"},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("%q: exit %d", args, code)
		}
		if lines := strings.Count(errb.String(), "\n"); lines != 1 {
			t.Errorf("%q: %d lines of error: %q", args, lines, errb.String())
		}
	}
}

func TestCheckMissingFileFails(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"check", "/nonexistent.json"}, &out, &errb); code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.HasSuffix(out.String(), "0 passed, 1 failed\n") {
		t.Fatalf("%q", out.String())
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const restartUser = "6f1c2a9e-2b1d-4c1e-9a55-0f3b8d7c6e51"

var fallbackAnswer = []byte("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

// restartFallback answers every connection that carried bytes once its
// client has ended its stream, and passes on what it got.
func restartFallback(t *testing.T) (string, chan []byte) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan []byte, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				b, err := io.ReadAll(c)
				if len(b) == 0 && errors.Is(err, syscall.ECONNRESET) {
					return // an early dial given up for an accepted hello
				}
				got <- b
				c.Write(fallbackAnswer)
			}()
		}
	}()
	return ln.Addr().String(), got
}

// startServerCmd runs `reflex-go server ARGS` in this process until the
// test stops it; stop waits for it to return.
func startServerCmd(t *testing.T, args ...string) (addr string, logs *lockedBuffer, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	logs = &lockedBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- serveServer(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), logs,
			func(a net.Addr) { ready <- a.String() })
	}()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server: %v\n%s", err, logs.String())
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("server did not start")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("server did not stop")
		}
	}
	t.Cleanup(stop)
	return addr, logs, stop
}

// helloAccepted sends hello on a new connection and reports whether the
// server answered with a server hello (one that completes cl's handshake,
// unless cl is nil); a refused hello gets the fallback's answer instead.
func helloAccepted(t *testing.T, addr string, hello []byte, cl *v2.Client) bool {
	c, err := net.DialTimeout("tcp", addr, 20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(hello); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	if len(got) == v2.ServerHelloSize {
		if cl == nil {
			return true // cl already read its server hello
		}
		if _, err := cl.ReadHello(got); err == nil {
			return true
		}
	}
	if !bytes.Equal(got, fallbackAnswer) {
		t.Fatalf("got %x: neither a server hello nor the fallback's answer", got)
	}
	return false
}

func newHello(t *testing.T) ([]byte, *v2.Client) {
	u, _ := decide.ParseUUID(restartUser)
	e, err := v2.ClientEphemeral(nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := v2.NewClient(u, e)
	if err != nil {
		t.Fatal(err)
	}
	hello, err := cl.WriteHello(v2.Payload{Timestamp: time.Now().Unix()})
	if err != nil {
		t.Fatal(err)
	}
	return hello, cl
}

// With --state-dir, a hello accepted before a restart is refused after it
// (it goes to the fallback, byte for byte), while a fresh hello is
// accepted. Without it, the same replay is accepted: the risk SPEC.md 12.3
// names.
func TestReplayAcrossRestartWithStateDir(t *testing.T) {
	dir := t.TempDir()
	fb, fbGot := restartFallback(t)
	args := []string{"--user", restartUser, "--fallback", fb, "--profile", "v2", "--profile", "v1-compat"}
	stateArgs := append(append([]string{}, args...), "--state-dir", dir)

	recorded, cl := newHello(t)
	addr, _, stop := startServerCmd(t, stateArgs...)
	if !helloAccepted(t, addr, recorded, cl) {
		t.Fatal("a fresh hello was refused")
	}
	stop()

	addr, logs, stop := startServerCmd(t, stateArgs...)
	if !strings.Contains(logs.String(), "1 entries loaded") {
		t.Errorf("journal not read back:\n%s", logs.String())
	}
	if helloAccepted(t, addr, recorded, cl) {
		t.Fatal("a hello recorded before the restart was accepted after it")
	}
	select {
	case b := <-fbGot:
		if !bytes.Equal(b, recorded) {
			t.Fatalf("fallback got %x, want the replayed hello", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the replayed hello did not reach the fallback")
	}
	fresh, cl2 := newHello(t)
	if !helloAccepted(t, addr, fresh, cl2) {
		t.Fatal("a fresh hello was refused after the restart")
	}
	// The fallback line is logged once its relay has ended, which may be
	// just after the client saw the end.
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(logs.String(), "fallback (replayed_hello)"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no replayed_hello in the log:\n%s", logs.String())
		}
	}
	stop()

	// The contrast: a server without the journal accepts the replay.
	addr, _, stop = startServerCmd(t, args...)
	if !helloAccepted(t, addr, recorded, nil) {
		t.Error("without --state-dir the replay was refused: this test shows nothing")
	}
	stop()
}

func TestStateDirInUse(t *testing.T) {
	dir := t.TempDir()
	fb, _ := restartFallback(t)
	args := []string{"--user", restartUser, "--fallback", fb, "--state-dir", dir}
	startServerCmd(t, args...)
	var errb bytes.Buffer
	if code := run(append([]string{"server", "--listen", "127.0.0.1:0"}, args...), io.Discard, &errb); code != 1 {
		t.Fatalf("second server on the same state dir: exit %d: %s", code, errb.String())
	}
}
