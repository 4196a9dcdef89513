package main

import (
	"bytes"
	"strings"
	"testing"
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
