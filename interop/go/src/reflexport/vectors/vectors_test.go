package vectors

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"reflexport/shape"
)

// vectorDir is testdata/vectors of the repository (or $REFLEX_VECTORS_DIR).
func vectorDir(t *testing.T) string {
	if d := os.Getenv("REFLEX_VECTORS_DIR"); d != "" {
		return d
	}
	d, err := filepath.Abs("../../../../../testdata/vectors")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCheckedInVectors(t *testing.T) {
	for _, name := range []string{"reflex-v1-compat.json", "reflex-v2.json"} {
		var out bytes.Buffer
		r := CheckFiles([]string{filepath.Join(vectorDir(t), name)}, &out)
		if r.Failed != 0 || r.Passed == 0 {
			t.Errorf("%s: %d passed, %d failed\n%s", name, r.Passed, r.Failed, out.String())
		}
	}
}

func writeTemp(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "v.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStrictness(t *testing.T) {
	for _, c := range []struct{ name, json, want string }{
		{"unknown profile", `{"schema":"reflex-vectors/1","profile":"v3","groups":[]}`, "unknown profile"},
		{"unknown top field", `{"schema":"reflex-vectors/1","profile":"v2","groups":[],"x":1}`, "unknown top-level field"},
		{"unknown kind", `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"nope","tests":[{"id":1,"result":"valid"}]}]}`, "unknown kind"},
		{"unknown field", `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"request_header","tests":[{"id":1,"result":"invalid","encoded":"","x":1}]}]}`, "unknown field"},
		{"uppercase hex", `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"request_header","tests":[{"id":1,"result":"invalid","encoded":"0A"}]}]}`, "lowercase"},
		{"missing required", `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"request_header","tests":[{"id":1,"result":"valid","encoded":"0100500100000000"}]}]}`, "required field"},
		{"duplicate id", `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"request_header","tests":[{"id":1,"result":"invalid","encoded":""},{"id":1,"result":"invalid","encoded":""}]}]}`, "not unique"},
		{"duplicate key", `{"schema":"reflex-vectors/1","profile":"v2","profile":"v2","groups":[]}`, "given twice"},
		{"wrong type", `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"frame","tests":[{"id":1,"result":"invalid","key":"00","counter":"0","wire":""}]}]}`, "expected 32"},
		{"counter as number", `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"frame","tests":[{"id":1,"result":"invalid","key":"` + strings.Repeat("00", 32) + `","counter":0,"wire":""}]}]}`, "not a string"},
	} {
		var out bytes.Buffer
		r := CheckFiles([]string{writeTemp(t, c.json)}, &out)
		if r.Failed == 0 || !strings.Contains(out.String(), c.want) {
			t.Errorf("%s: %d failed, output %q", c.name, r.Failed, out.String())
		}
	}
}

func TestEmptyFileHasNothingPassed(t *testing.T) {
	var out bytes.Buffer
	r := CheckFiles([]string{writeTemp(t, `{"schema":"reflex-vectors/1","profile":"v2","groups":[]}`)}, &out)
	if r.Passed != 0 || r.Failed != 0 {
		t.Fatalf("%+v", r)
	}
}

// first_flight (FORMAT.md): the length is judged first; message1, filler
// and user_id play no part in an invalid test (only their types are
// checked); a test not of the tls shape gives no filler and no user_id; in
// a valid tls test with user_id the filler must be that user's for
// message1 (its value computed apart, with Python's hmac and hashlib).
func TestFirstFlightFieldRules(t *testing.T) {
	host := hex.EncodeToString([]byte("cdn.example.com"))
	m1 := strings.Repeat("11", 76)
	f := strings.Repeat("22", 20)
	s := shape.Shape{Kind: shape.TLS, Host: "cdn.example.com"}
	mb, _ := hex.DecodeString(m1)
	fb, _ := hex.DecodeString(f)
	good, _ := s.Encode(mb, fb)
	enc := hex.EncodeToString(good)
	broken := append([]byte(nil), good...)
	broken[0] = 0x17
	junk := strings.Repeat("ff", len(good)+1)
	uid := "6f1c2a9e2b1d4c1e9a550f3b8d7c6e51"
	uf := "d03e702ee249ecea04f7aa6ee8581caa4ed3ad84" // uid's filler of m1
	ufb, _ := hex.DecodeString(uf)
	ugood, _ := s.Encode(mb, ufb)
	uenc := hex.EncodeToString(ugood)
	test := func(body string) string {
		return `{"schema":"reflex-vectors/1","profile":"v2","groups":[{"kind":"first_flight","tests":[` + body + `]}]}`
	}
	for _, c := range []struct {
		name, body string
		pass       bool
	}{
		{"valid tls", `{"id":1,"result":"valid","shape":2,"host":"` + host + `","path":"2f","message1":"` + m1 + `","filler":"` + f + `","encoded":"` + enc + `"}`, true},
		{"valid tls without filler", `{"id":1,"result":"valid","shape":2,"host":"` + host + `","path":"2f","message1":"` + m1 + `","encoded":"` + enc + `"}`, false},
		{"invalid, message1 and filler unrelated", `{"id":1,"result":"invalid","shape":2,"host":"` + host + `","path":"2f","message1":"` + strings.Repeat("33", 76) + `","filler":"` + strings.Repeat("44", 20) + `","encoded":"` + hex.EncodeToString(broken) + `","error":"bad_shape"}`, true},
		{"invalid, wrong length of junk is trailing_bytes", `{"id":1,"result":"invalid","shape":2,"host":"` + host + `","path":"2f","encoded":"` + junk + `","error":"trailing_bytes"}`, true},
		{"invalid, wrong length of junk is not bad_shape", `{"id":1,"result":"invalid","shape":2,"host":"` + host + `","path":"2f","encoded":"` + junk + `","error":"bad_shape"}`, false},
		{"invalid, a short genuine prefix is too_short", `{"id":1,"result":"invalid","shape":2,"host":"` + host + `","path":"2f","encoded":"` + enc[:len(enc)-2] + `","error":"too_short"}`, true},
		{"invalid http with filler", `{"id":1,"result":"invalid","shape":1,"host":"` + host + `","path":"2f","filler":"` + f + `","encoded":"00","error":"too_short"}`, false},
		{"valid raw with filler", `{"id":1,"result":"valid","shape":0,"host":"","path":"2f","message1":"` + m1 + `","filler":"` + f + `","encoded":"` + m1 + `"}`, false},
		{"invalid, filler of the wrong size", `{"id":1,"result":"invalid","shape":2,"host":"` + host + `","path":"2f","filler":"22","encoded":"00","error":"too_short"}`, false},
		{"valid tls, the user's filler", `{"id":1,"result":"valid","shape":2,"host":"` + host + `","path":"2f","message1":"` + m1 + `","filler":"` + uf + `","user_id":"` + uid + `","encoded":"` + uenc + `"}`, true},
		{"valid tls, not the user's filler", `{"id":1,"result":"valid","shape":2,"host":"` + host + `","path":"2f","message1":"` + m1 + `","filler":"` + f + `","user_id":"` + uid + `","encoded":"` + enc + `"}`, false},
		{"valid tls, another user's filler", `{"id":1,"result":"valid","shape":2,"host":"` + host + `","path":"2f","message1":"` + m1 + `","filler":"` + uf + `","user_id":"6f1c2a9e2b1d4c1e9a550f3b8d7c6e52","encoded":"` + uenc + `"}`, false},
		{"valid tls, user_id of the wrong size", `{"id":1,"result":"valid","shape":2,"host":"` + host + `","path":"2f","message1":"` + m1 + `","filler":"` + uf + `","user_id":"6f1c","encoded":"` + uenc + `"}`, false},
		{"invalid tls, user_id and an unrelated filler", `{"id":1,"result":"invalid","shape":2,"host":"` + host + `","path":"2f","filler":"` + f + `","user_id":"` + uid + `","encoded":"` + hex.EncodeToString(broken) + `","error":"bad_shape"}`, true},
		{"valid raw with user_id", `{"id":1,"result":"valid","shape":0,"host":"","path":"2f","message1":"` + m1 + `","user_id":"` + uid + `","encoded":"` + m1 + `"}`, false},
	} {
		var out bytes.Buffer
		r := CheckFiles([]string{writeTemp(t, test(c.body))}, &out)
		if (r.Failed == 0 && r.Passed == 1) != c.pass {
			t.Errorf("%s: %d passed, %d failed, want pass %v\n%s", c.name, r.Passed, r.Failed, c.pass, out.String())
		}
	}
}

// datagram (FORMAT.md, SPEC.md 15.2), hand-written: the same rules in both
// profiles; an unknown kind beside it is still a failure of each test.
func TestDatagramKind(t *testing.T) {
	big := "017f0000010007" + strings.Repeat("ab", 16378) // 16385 bytes
	for _, profile := range []string{"v1-compat", "v2"} {
		for _, c := range []struct {
			name, kind, body string
			pass             bool
		}{
			{"valid IPv4", "datagram", `{"id":1,"result":"valid","encoded":"017f00000100357175657279","address_type":1,"address":"7f000001","port":53,"data":"7175657279"}`, true},
			{"valid domain, empty data", "datagram", `{"id":1,"result":"valid","encoded":"0301780001","address_type":3,"address":"78","port":1,"data":""}`, true},
			{"valid, wrong port", "datagram", `{"id":1,"result":"valid","encoded":"017f00000100357175657279","address_type":1,"address":"7f000001","port":54,"data":"7175657279"}`, false},
			{"valid, wrong data", "datagram", `{"id":1,"result":"valid","encoded":"017f00000100357175657279","address_type":1,"address":"7f000001","port":53,"data":"71"}`, false},
			{"valid, address of the wrong size", "datagram", `{"id":1,"result":"valid","encoded":"017f00000100357175657279","address_type":1,"address":"7f00000100","port":53,"data":"7175657279"}`, false},
			{"valid without data", "datagram", `{"id":1,"result":"valid","encoded":"017f00000100357175657279","address_type":1,"address":"7f000001","port":53}`, false},
			{"valid, port out of range", "datagram", `{"id":1,"result":"valid","encoded":"017f00000100357175657279","address_type":1,"address":"7f000001","port":65536,"data":"7175657279"}`, false},
			{"valid but does not decode", "datagram", `{"id":1,"result":"valid","encoded":"017f000001","address_type":1,"address":"7f000001","port":0,"data":""}`, false},
			{"invalid, the named error", "datagram", `{"id":1,"result":"invalid","encoded":"03000035","error":"bad_domain_length"}`, true},
			{"invalid, another error", "datagram", `{"id":1,"result":"invalid","encoded":"03000035","error":"too_short"}`, false},
			{"invalid, no error named", "datagram", `{"id":1,"result":"invalid","encoded":"05"}`, true},
			{"invalid but decodes", "datagram", `{"id":1,"result":"invalid","encoded":"0301780001","error":"too_short"}`, false},
			{"invalid, 16385 bytes", "datagram", `{"id":1,"result":"invalid","encoded":"` + big + `","error":"frame_too_large"}`, true},
			{"invalid, 16385 bytes with its fields", "datagram", `{"id":1,"result":"invalid","encoded":"` + big + `","error":"frame_too_large","address_type":1,"address":"7f000001","port":7,"data":"` + big[14:] + `"}`, true},
			{"invalid, unknown field", "datagram", `{"id":1,"result":"invalid","encoded":"05","trailing":""}`, false},
			{"unknown kind", "datagrams", `{"id":1,"result":"invalid","encoded":"05"}`, false},
		} {
			doc := `{"schema":"reflex-vectors/1","profile":"` + profile + `","groups":[{"kind":"` + c.kind + `","tests":[` + c.body + `]}]}`
			var out bytes.Buffer
			r := CheckFiles([]string{writeTemp(t, doc)}, &out)
			if (r.Failed == 0 && r.Passed == 1) != c.pass {
				t.Errorf("%s %s: %d passed, %d failed, want pass %v\n%s", profile, c.name, r.Passed, r.Failed, c.pass, out.String())
			}
			if c.kind != "datagram" && !strings.Contains(out.String(), `unknown kind "datagrams"`) {
				t.Errorf("%s %s: %q", profile, c.name, out.String())
			}
		}
	}
}
