// Package vectors checks conformance vector files of the format
// reflex-vectors/1 (testdata/vectors/FORMAT.md) against this port.
package vectors

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
)

// Implementation is the name this port gives itself in report lines.
const Implementation = "go"

// Schema is the only format version understood.
const Schema = "reflex-vectors/1"

type fieldType int

const (
	tHex fieldType = iota
	tI64
	tU64
	tInt
	tFrames
)

type need int

const (
	optional need = iota
	inValid       // required in valid tests
	always        // required in every test
)

type field struct {
	t        fieldType
	size     int // tHex: byte count, -1 any
	min, max int64
	need     need
}

func hexF(size int, n need) field       { return field{t: tHex, size: size, need: n} }
func intF(min, max int64, n need) field { return field{t: tInt, min: min, max: max, need: n} }
func i64F(n need) field                 { return field{t: tI64, need: n} }
func u64F(n need) field                 { return field{t: tU64, need: n} }
func framesF(n need) field              { return field{t: tFrames, need: n} }

type fields map[string]field

type kind struct {
	fields fields
	check  func(t *test) string
}

// frameVal is one {"frame_type", "payload"} of a frame_stream test.
type frameVal struct {
	Type    byte
	Payload []byte
}

// test is one parsed test.
type test struct {
	id      int64
	kind    string
	valid   bool
	errName string // "" when absent
	hex     map[string][]byte
	i64     map[string]int64
	u64     map[string]uint64
	ints    map[string]int64
	frames  []frameVal
	hasFr   bool
}

func (t *test) has(name string) bool {
	if name == "frames" {
		return t.hasFr
	}
	_, a := t.hex[name]
	_, b := t.i64[name]
	_, c := t.u64[name]
	_, d := t.ints[name]
	return a || b || c || d
}

func (t *test) b32(name string) (k [32]byte) { copy(k[:], t.hex[name]); return }
func (t *test) b16(name string) (k [16]byte) { copy(k[:], t.hex[name]); return }

var commonFields = map[string]bool{"id": true, "result": true, "comment": true, "error": true}

// Report is the outcome of checking files.
type Report struct {
	Passed, Failed int
}

// CheckFiles checks every file, writes the report lines of FORMAT.md to w
// and returns the totals. The caller prints the final line.
func CheckFiles(paths []string, w io.Writer) Report {
	var r Report
	for _, p := range paths {
		checkFile(p, w, &r)
	}
	return r
}

func checkFile(path string, w io.Writer, r *Report) {
	fileProblem := func(format string, a ...interface{}) {
		fmt.Fprintf(w, "%s: %s\n", path, fmt.Sprintf(format, a...))
		r.Failed++
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fileProblem("cannot read: %v", err)
		return
	}
	if err := checkNoDuplicateKeys(data); err != nil {
		fileProblem("not valid JSON: %v", err)
		return
	}
	top, err := parseObject(data)
	if err != nil {
		fileProblem("not a JSON object: %v", err)
		return
	}
	for k := range top {
		if k != "schema" && k != "profile" && k != "source" && k != "groups" {
			fileProblem("unknown top-level field %q", k)
		}
	}
	for _, k := range []string{"schema", "profile", "groups"} {
		if _, ok := top[k]; !ok {
			fileProblem("missing top-level field %q", k)
			return
		}
	}
	if raw, ok := top["source"]; ok {
		if _, err := jsonString(raw); err != nil {
			fileProblem("field \"source\": %v", err)
		}
	}
	schema, err := jsonString(top["schema"])
	if err != nil || schema != Schema {
		fileProblem("unknown schema %s", string(top["schema"]))
		return
	}
	profile, err := jsonString(top["profile"])
	var kinds map[string]kind
	switch {
	case err != nil:
	case profile == "v1-compat":
		kinds = v1Kinds()
	case profile == "v2":
		kinds = v2Kinds()
	}
	if kinds == nil {
		fileProblem("unknown profile %s", string(top["profile"]))
		return
	}
	var groups []json.RawMessage
	if err := json.Unmarshal(top["groups"], &groups); err != nil || groups == nil {
		fileProblem("field \"groups\" is not a list")
		return
	}
	ids := map[int64]bool{}
	for gi, graw := range groups {
		g, err := parseObject(graw)
		if err != nil {
			fileProblem("group %d: %v", gi, err)
			continue
		}
		bad := false
		for k := range g {
			if k != "kind" && k != "tests" {
				fileProblem("group %d: unknown field %q", gi, k)
				bad = true
			}
		}
		kname, kerr := jsonString(g["kind"])
		var tests []json.RawMessage
		terr := json.Unmarshal(g["tests"], &tests)
		if _, ok := g["tests"]; !ok || terr != nil || tests == nil {
			fileProblem("group %d: field \"tests\" missing or not a list", gi)
			continue
		}
		k, known := kinds[kname]
		if kerr != nil {
			kname = "?"
		}
		for _, traw := range tests {
			id, what := runTest(traw, kname, k, known && !bad && kerr == nil, ids)
			label := "?"
			if id != nil {
				label = fmt.Sprint(*id)
			}
			if what == "" {
				r.Passed++
				continue
			}
			r.Failed++
			fmt.Fprintf(w, "%s: test %s (%s): %s: %s\n", path, label, kname, Implementation, what)
		}
	}
}

// runTest parses and runs one test; it returns the test's id (if it could
// be read) and "" when the test holds, else what differed.
func runTest(raw json.RawMessage, kname string, k kind, known bool, ids map[int64]bool) (*int64, string) {
	o, err := parseObject(raw)
	if err != nil {
		return nil, "test is " + err.Error()
	}
	var idp *int64
	if r, ok := o["id"]; ok {
		if v, err := smallInt(r, -1<<62, 1<<62); err == nil {
			idp = &v
		}
	}
	if idp == nil {
		return nil, "field \"id\" missing or not an integer"
	}
	if ids[*idp] {
		return idp, "id not unique in the file"
	}
	ids[*idp] = true
	if !known {
		return idp, fmt.Sprintf("unknown kind %q", kname)
	}
	t := &test{id: *idp, kind: kname, hex: map[string][]byte{}, i64: map[string]int64{},
		u64: map[string]uint64{}, ints: map[string]int64{}}
	res, err := jsonString(o["result"])
	switch {
	case err != nil:
		return idp, "field \"result\" missing or not a string"
	case res == "valid":
		t.valid = true
	case res == "invalid":
	default:
		return idp, fmt.Sprintf("field \"result\": unknown value %q", res)
	}
	if c, ok := o["comment"]; ok {
		if _, err := jsonString(c); err != nil {
			return idp, "field \"comment\": " + err.Error()
		}
	}
	if e, ok := o["error"]; ok {
		name, err := jsonString(e)
		if err != nil {
			return idp, "field \"error\": " + err.Error()
		}
		if !knownErrorName(name) {
			return idp, fmt.Sprintf("field \"error\": unknown error name %q", name)
		}
		if t.valid {
			return idp, "a valid test names an error"
		}
		t.errName = name
	}
	names := make([]string, 0, len(o))
	for n := range o {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if commonFields[n] {
			continue
		}
		f, ok := k.fields[n]
		if !ok {
			return idp, fmt.Sprintf("unknown field %q for kind %s", n, kname)
		}
		if msg := parseField(t, n, f, o[n]); msg != "" {
			return idp, fmt.Sprintf("field %q: %s", n, msg)
		}
	}
	fnames := make([]string, 0, len(k.fields))
	for n := range k.fields {
		fnames = append(fnames, n)
	}
	sort.Strings(fnames)
	for _, n := range fnames {
		f := k.fields[n]
		if !t.has(n) && (f.need == always || (f.need == inValid && t.valid)) {
			return idp, fmt.Sprintf("required field %q missing", n)
		}
	}
	return idp, k.check(t)
}

func parseField(t *test, name string, f field, raw json.RawMessage) string {
	var err error
	switch f.t {
	case tHex:
		var b []byte
		if b, err = hexBytes(raw, f.size); err == nil {
			t.hex[name] = b
		}
	case tI64:
		var v int64
		if v, err = decimalI64(raw); err == nil {
			t.i64[name] = v
		}
	case tU64:
		var v uint64
		if v, err = decimalU64(raw); err == nil {
			t.u64[name] = v
		}
	case tInt:
		var v int64
		if v, err = smallInt(raw, f.min, f.max); err == nil {
			t.ints[name] = v
		}
	case tFrames:
		var list []json.RawMessage
		if e := json.Unmarshal(raw, &list); e != nil || list == nil {
			return "not a list"
		}
		t.frames = []frameVal{}
		for i, fr := range list {
			o, e := parseObject(fr)
			if e != nil {
				return fmt.Sprintf("frame %d: %v", i, e)
			}
			for k := range o {
				if k != "frame_type" && k != "payload" {
					return fmt.Sprintf("frame %d: unknown field %q", i, k)
				}
			}
			if _, ok := o["frame_type"]; !ok {
				return fmt.Sprintf("frame %d: field \"frame_type\" missing", i)
			}
			if _, ok := o["payload"]; !ok {
				return fmt.Sprintf("frame %d: field \"payload\" missing", i)
			}
			ty, e := smallInt(o["frame_type"], 0, 255)
			if e != nil {
				return fmt.Sprintf("frame %d: frame_type: %v", i, e)
			}
			p, e := hexBytes(o["payload"], -1)
			if e != nil {
				return fmt.Sprintf("frame %d: payload: %v", i, e)
			}
			t.frames = append(t.frames, frameVal{Type: byte(ty), Payload: p})
		}
		t.hasFr = true
	}
	if err != nil {
		return err.Error()
	}
	return ""
}
