package vectors

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
