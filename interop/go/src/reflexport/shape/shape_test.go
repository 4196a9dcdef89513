package shape

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"

	"reflexport/rerr"
)

var shapes = []Shape{
	{Kind: Raw},
	{Kind: HTTP, Host: "a"},
	{Kind: HTTP, Host: "cdn.example.com", Path: "/assets/"},
	{Kind: HTTP, Host: strings.Repeat("h", MaxHost), Path: "/" + strings.Repeat("p", MaxPath-1)},
	{Kind: TLS, Host: "a"},
	{Kind: TLS, Host: "cdn.example.com"},
	{Kind: TLS, Host: strings.Repeat("h", MaxHost)},
}

func random(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSizes(t *testing.T) {
	for _, s := range shapes {
		want := map[Kind]int{Raw: 76, HTTP: 140 + len(s.path()) + len(s.Host), TLS: 166 + len(s.Host)}[s.Kind]
		if s.Size() != want {
			t.Errorf("%v: size %d, want %d", s, s.Size(), want)
		}
		b, err := s.Encode(random(t, 76), random(t, 20))
		if err != nil || len(b) != want {
			t.Errorf("%v: encoded %d bytes (%v), want %d", s, len(b), err, want)
		}
	}
	if n := shapes[3].Size(); n != MaxSize {
		t.Errorf("longest http flight %d, want %d", n, MaxSize)
	}
}

// Encode then Decode gives message 1 back (and the tls filler), for many
// random messages in every shape.
func TestRoundTrip(t *testing.T) {
	for _, s := range shapes {
		for i := 0; i < 300; i++ {
			m, f := random(t, 76), random(t, 20)
			if i == 0 {
				m, f = make([]byte, 76), make([]byte, 20)
			} else if i == 1 {
				m, f = bytes.Repeat([]byte{0xff}, 76), bytes.Repeat([]byte{0xff}, 20)
			}
			b, err := s.Encode(m, f)
			if err != nil {
				t.Fatalf("%v: encode: %v", s, err)
			}
			got, gf, err := s.Decode(b)
			if err != nil || !bytes.Equal(got, m) {
				t.Fatalf("%v: decode: %x %v, want %x", s, got, err, m)
			}
			if s.Kind == TLS && !bytes.Equal(gf, f) {
				t.Fatalf("%v: filler %x, want %x", s, gf, f)
			}
		}
	}
}

// B is base64url without padding as encoding/base64 writes it.
func TestHTTPIsBase64URL(t *testing.T) {
	s := Shape{Kind: HTTP, Host: "cdn.example.com", Path: "/assets/"}
	for i := 0; i < 100; i++ {
		m := random(t, 76)
		b, _ := s.Encode(m, nil)
		want := "GET /assets/" + base64.RawURLEncoding.EncodeToString(m) +
			" HTTP/1.1\r\nHost: cdn.example.com\r\nAccept: */*\r\n\r\n"
		if string(b) != want {
			t.Fatalf("got %q\nwant %q", b, want)
		}
	}
}

// An HTTP parser reads the http flight as a GET of PATH+B for HOST.
func TestHTTPParses(t *testing.T) {
	s := Shape{Kind: HTTP, Host: "cdn.example.com", Path: "/assets/v1/"}
	b, _ := s.Encode(random(t, 76), nil)
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "GET" || req.Host != s.Host || !strings.HasPrefix(req.URL.Path, s.Path) ||
		len(req.URL.Path) != len(s.Path)+102 || req.Header.Get("Accept") != "*/*" || req.ProtoMinor != 1 {
		t.Fatalf("%+v", req)
	}
}

// A TLS parser reads the tls flight as one handshake record holding a
// ClientHello with the host as server_name and e as the x25519 key share.
func TestTLSParses(t *testing.T) {
	for _, host := range []string{"a", "cdn.example.com", strings.Repeat("h", MaxHost)} {
		s := Shape{Kind: TLS, Host: host}
		m, f := random(t, 76), random(t, 20)
		b, _ := s.Encode(m, f)
		in := cryptobyte.String(b)
		var typ uint8
		var ver uint16
		var rec, body cryptobyte.String
		if !in.ReadUint8(&typ) || typ != 22 || !in.ReadUint16(&ver) || ver != 0x0301 ||
			!in.ReadUint16LengthPrefixed(&rec) || !in.Empty() {
			t.Fatalf("%s: record", host)
		}
		var hs uint8
		if !rec.ReadUint8(&hs) || hs != 1 || !rec.ReadUint24LengthPrefixed(&body) || !rec.Empty() {
			t.Fatalf("%s: handshake", host)
		}
		var legacy uint16
		var random, sid, suites, comp, exts []byte
		var sidS, suitesS, compS, extsS cryptobyte.String
		if !body.ReadUint16(&legacy) || legacy != 0x0303 || !body.ReadBytes(&random, 32) ||
			!body.ReadUint8LengthPrefixed(&sidS) || !body.ReadUint16LengthPrefixed(&suitesS) ||
			!body.ReadUint8LengthPrefixed(&compS) || !body.ReadUint16LengthPrefixed(&extsS) || !body.Empty() {
			t.Fatalf("%s: client hello", host)
		}
		sid, suites, comp, exts = sidS, suitesS, compS, extsS
		if !bytes.Equal(random, m[32:64]) || !bytes.Equal(sid, append(append([]byte{}, m[64:76]...), f...)) ||
			!bytes.Equal(suites, []byte{0x13, 0x01, 0x13, 0x02, 0x13, 0x03}) || !bytes.Equal(comp, []byte{0}) {
			t.Fatalf("%s: fields", host)
		}
		var order []uint16
		es := cryptobyte.String(exts)
		for !es.Empty() {
			var typ uint16
			var data cryptobyte.String
			if !es.ReadUint16(&typ) || !es.ReadUint16LengthPrefixed(&data) {
				t.Fatalf("%s: extensions", host)
			}
			order = append(order, typ)
			switch typ {
			case 0: // server_name
				var list, name cryptobyte.String
				var nt uint8
				if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() || !list.ReadUint8(&nt) || nt != 0 ||
					!list.ReadUint16LengthPrefixed(&name) || !list.Empty() || string(name) != host {
					t.Fatalf("%s: server_name", host)
				}
			case 0x33: // key_share
				var list cryptobyte.String
				var group uint16
				var key cryptobyte.String
				if !data.ReadUint16LengthPrefixed(&list) || !data.Empty() || !list.ReadUint16(&group) || group != 0x1d ||
					!list.ReadUint16LengthPrefixed(&key) || !list.Empty() || !bytes.Equal(key, m[:32]) {
					t.Fatalf("%s: key_share", host)
				}
			}
		}
		if want := []uint16{0, 0x0a, 0x0d, 0x2b, 0x33}; len(order) != len(want) {
			t.Fatalf("%s: extensions %x", host, order)
		}
	}
}

// carried reports whether byte i of a flight of shape s carries message 1
// (or is the tls filler): every other byte is the template's.
func carried(s Shape, i int) bool {
	switch s.Kind {
	case HTTP:
		start := len(s.httpHead())
		return i >= start && i < start+b64Len
	case TLS:
		n := s.Size()
		return i >= tlsRandom && i < tlsRandom+32 || i >= tlsSession && i < tlsFiller+FillerSize || i >= n-32
	}
	return true
}

// Every byte that is not carried, changed to any other value, is bad_shape;
// so is the flight one byte short or long as too_short or trailing_bytes.
func TestEveryFixedByteIsChecked(t *testing.T) {
	for _, s := range shapes {
		if s.Kind == Raw {
			continue
		}
		b, _ := s.Encode(random(t, 76), random(t, 20))
		fixed := 0
		for i := range b {
			if carried(s, i) {
				continue
			}
			fixed++
			for _, x := range []byte{0x01, 0x02, 0x20, 0x80, 0xff} {
				c := append([]byte(nil), b...)
				c[i] ^= x
				if m, _, err := s.Decode(c); err != rerr.BadShape || m != nil {
					t.Fatalf("%v: byte %d ^ %02x: %v, want bad_shape", s, i, x, err)
				}
			}
		}
		want := s.Size() - 102
		if s.Kind == TLS {
			want = s.Size() - 96
		}
		if fixed != want {
			t.Fatalf("%v: %d fixed bytes, want %d", s, fixed, want)
		}
		if _, _, err := s.Decode(b[:len(b)-1]); err != rerr.TooShort {
			t.Fatalf("%v: short: %v", s, err)
		}
		if _, _, err := s.Decode(append(append([]byte(nil), b...), 0)); err != rerr.TrailingBytes {
			t.Fatalf("%v: long: %v", s, err)
		}
		if _, _, err := s.Decode(nil); err != rerr.TooShort {
			t.Fatalf("%v: empty: %v", s, err)
		}
	}
	raw := Shape{}
	if _, _, err := raw.Decode(make([]byte, 75)); err != rerr.TooShort {
		t.Fatal(err)
	}
	if _, _, err := raw.Decode(make([]byte, 77)); err != rerr.TrailingBytes {
		t.Fatal(err)
	}
}

// B must be canonical base64url: every character of the alphabet, no
// other (standard base64's + and /, padding, CR, LF, space), and a last
// character whose 4 low bits are zero.
func TestHTTPBase64IsCanonical(t *testing.T) {
	s := Shape{Kind: HTTP, Host: "cdn.example.com", Path: "/"}
	start := len(s.httpHead())
	for i := 0; i < 50; i++ {
		b, _ := s.Encode(random(t, 76), nil)
		last := start + b64Len - 1
		v := b64Value[b[last]]
		if v&15 != 0 {
			t.Fatalf("encoder wrote a non-canonical last digit %q", b[last])
		}
		for low := int8(1); low < 16; low++ {
			c := append([]byte(nil), b...)
			c[last] = b64Alphabet[v|low]
			if _, _, err := s.Decode(c); err != rerr.BadShape {
				t.Fatalf("last digit %q: %v", c[last], err)
			}
		}
		pos := start + i%(b64Len-1)
		for _, bad := range []byte("+/=\r\n \x00\x80.") {
			c := append([]byte(nil), b...)
			c[pos] = bad
			if _, _, err := s.Decode(c); err != rerr.BadShape {
				t.Fatalf("%q at %d: %v", bad, pos, err)
			}
		}
		// Any other digit of the alphabet there is another message 1.
		c := append([]byte(nil), b...)
		c[pos] = b64Alphabet[(b64Value[c[pos]]+1)&63]
		if m, _, err := s.Decode(c); err != nil || len(m) != 76 {
			t.Fatalf("another digit at %d: %v", pos, err)
		}
	}
}

// Another host or path in the flight is bad_shape; a flight of the other
// shape is refused.
func TestOtherParametersAreBadShape(t *testing.T) {
	m, f := random(t, 76), random(t, 20)
	server := Shape{Kind: HTTP, Host: "cdn.example.com", Path: "/assets/"}
	for _, other := range []Shape{
		{Kind: HTTP, Host: "cdn.example.org", Path: "/assets/"},
		{Kind: HTTP, Host: "CDN.example.com", Path: "/assets/"},
		{Kind: HTTP, Host: "cdn.example.com", Path: "/assetz/"},
	} {
		b, _ := other.Encode(m, nil)
		if _, _, err := server.Decode(b); err != rerr.BadShape {
			t.Errorf("%v read by %v: %v", other, server, err)
		}
	}
	tlsServer := Shape{Kind: TLS, Host: "cdn.example.com"}
	b, _ := (Shape{Kind: TLS, Host: "cdn.example.org"}).Encode(m, f)
	if _, _, err := tlsServer.Decode(b); err != rerr.BadShape {
		t.Errorf("tls, another host: %v", err)
	}
	// Flights of each shape read by a server of another: refused (a
	// length error when the sizes differ, bad_shape when they agree).
	// 140 + 26 + 15 = 181 = 166 + 15: an http flight as long as tls's.
	httpSame := Shape{Kind: HTTP, Host: "cdn.example.com", Path: "/abcdefghijklmnopqrstuvwxy"}
	if httpSame.Size() != tlsServer.Size() {
		t.Fatalf("sizes %d %d", httpSame.Size(), tlsServer.Size())
	}
	hb, _ := httpSame.Encode(m, nil)
	tb, _ := tlsServer.Encode(m, f)
	if _, _, err := tlsServer.Decode(hb); err != rerr.BadShape {
		t.Errorf("http flight read as tls: %v", err)
	}
	if _, _, err := httpSame.Decode(tb); err != rerr.BadShape {
		t.Errorf("tls flight read as http: %v", err)
	}
}

func TestValidation(t *testing.T) {
	for _, h := range []string{"a", "A-.z09", strings.Repeat("x", 253), "cdn.example.com", "-", "."} {
		if !ValidHost(h) {
			t.Errorf("host %q refused", h)
		}
	}
	for _, h := range []string{"", strings.Repeat("x", 254), "a_b", "a b", "a:80", "é", "a/b", "a\r\n"} {
		if ValidHost(h) {
			t.Errorf("host %q accepted", h)
		}
	}
	for _, p := range []string{"/", "/a", "/assets/", "/-._~/Az09", "/" + strings.Repeat("p", 63), "//"} {
		if !ValidPath(p) {
			t.Errorf("path %q refused", p)
		}
	}
	for _, p := range []string{"", "a", "/" + strings.Repeat("p", 64), "/a b", "/a%20", "/a?b", "/a#", "/+", "/=", "\\"} {
		if ValidPath(p) {
			t.Errorf("path %q accepted", p)
		}
	}
	for _, s := range []Shape{{Kind: HTTP}, {Kind: TLS}, {Kind: HTTP, Host: "a", Path: "x"}, {Kind: 3}, {Kind: -1}} {
		if s.Validate() == nil || s.Size() != 0 {
			t.Errorf("%+v accepted", s)
		}
		if _, err := s.Encode(make([]byte, 76), make([]byte, 20)); err != rerr.InvalidArgument {
			t.Errorf("%+v: encode %v", s, err)
		}
		if _, _, err := s.Decode(make([]byte, 200)); err != rerr.InvalidArgument {
			t.Errorf("%+v: decode %v", s, err)
		}
	}
	// raw ignores the host and path; tls ignores the path.
	if (Shape{Kind: Raw, Host: "a_b"}).Validate() != nil || (Shape{Kind: TLS, Host: "a", Path: "x"}).Validate() != nil {
		t.Error("an unused parameter was checked")
	}
	if _, err := (Shape{Kind: TLS, Host: "a"}).Encode(make([]byte, 76), nil); err != rerr.InvalidArgument {
		t.Error("tls without filler encoded")
	}
	if _, err := (Shape{}).Encode(make([]byte, 75), nil); err != rerr.InvalidArgument {
		t.Error("75-byte message 1 encoded")
	}
	for _, k := range []string{"raw", "http", "tls"} {
		if kk, ok := ParseKind(k); !ok || kk.String() != k {
			t.Errorf("%s", k)
		}
	}
	if _, ok := ParseKind("HTTP"); ok {
		t.Error("HTTP parsed")
	}
}

// The tls filler is the first 20 bytes of HMAC-SHA256 over message 1 keyed
// with the filler key, HKDF-SHA256(IKM = the PSK, salt = "reflex/2 tls
// filler", info = empty, L = 32) (SPEC.md 11.8). The expected values were
// computed apart (Python's hmac and hashlib): the PSK of user
// 6f1c2a9e-2b1d-4c1e-9a55-0f3b8d7c6e51 (HKDF-SHA256, section 11.2), its
// filler key, and the filler of message 1 = the bytes 0..75.
func TestFiller(t *testing.T) {
	pskb, _ := hex.DecodeString("4abd3fd8f99e4993b46050d3d4923fbfac9ee8ac92a1f59dc1bb7c89e18eba82")
	var psk [32]byte
	copy(psk[:], pskb)
	wantKey, _ := hex.DecodeString("ec7d22720d87e0b28c0eb25f32cd30679e58ce96347edfe021d6f30f13dbfcd3")
	k := NewFillerKey(psk)
	if !bytes.Equal(k[:], wantKey) {
		t.Fatalf("filler key %x, want %x", k[:], wantKey)
	}
	m := make([]byte, 76)
	for i := range m {
		m[i] = byte(i)
	}
	want, _ := hex.DecodeString("95d1fbdebd141965db818bcc189ce2c95542a36b")
	f := k.Filler(m)
	if !bytes.Equal(f, want) {
		t.Fatalf("filler %x, want %x", f, want)
	}
	if !k.OK(m, want) {
		t.Fatal("the right filler refused")
	}
	// The HMAC keyed with the PSK itself (the filler before it had a key
	// of its own, computed apart: 018e5d99...) is not the filler.
	old, _ := hex.DecodeString("018e5d99141b1ef5d07a13c423233281fbecb9b3")
	if k.OK(m, old) || FillerKey(psk).OK(m, want) {
		t.Fatal("a filler keyed with the PSK itself accepted")
	}
	for i := 0; i < FillerSize; i++ {
		c := append([]byte(nil), want...)
		c[i] ^= 0x40
		if k.OK(m, c) {
			t.Fatalf("filler with byte %d changed accepted", i)
		}
	}
	for _, c := range [][]byte{nil, want[:19], append(append([]byte(nil), want...), 0)} {
		if k.OK(m, c) {
			t.Fatalf("filler of %d bytes accepted", len(c))
		}
	}
	m2 := append([]byte(nil), m...)
	m2[75] ^= 1
	if k.OK(m2, want) {
		t.Fatal("filler of another message 1 accepted")
	}
	// In the flight, the filler is bytes 56..75 (after message 1's bytes
	// 64..75 in the session id).
	s := Shape{Kind: TLS, Host: "cdn.example.com"}
	b, _ := s.Encode(m, want)
	if !bytes.Equal(b[56:76], want) || !bytes.Equal(b[44:56], m[64:76]) || b[43] != 0x20 {
		t.Fatalf("session id %x", b[43:76])
	}
}
