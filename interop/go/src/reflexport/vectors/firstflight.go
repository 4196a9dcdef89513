package vectors

import (
	"fmt"

	"reflexport/shape"
	"reflexport/v2"
)

// firstFlightFields are the fields of kind first_flight (FORMAT.md,
// SPEC.md 11.8).
func firstFlightFields() fields {
	return fields{
		"shape":    intF(0, 2, always),
		"host":     hexF(-1, always),
		"path":     hexF(-1, always),
		"encoded":  hexF(-1, always),
		"message1": hexF(shape.Message1Size, inValid),
		"filler":   hexF(shape.FillerSize, optional), // required in valid tls tests (below)
		"user_id":  hexF(16, optional),               // tls only (below)
	}
}

// checkFirstFlight: valid, shaping message1 (with filler for tls) yields
// encoded and reading encoded in that shape yields message1 (and the
// filler), and when user_id is given the filler is that user's for
// message1 (SPEC.md 11.8: the first 20 bytes of HMAC-SHA256 keyed with
// HKDF-SHA256(IKM = the user's PSK, salt "reflex/2 tls filler")); invalid,
// reading encoded in that shape fails (message1, filler and user_id play
// no part there; their types are checked).
func checkFirstFlight(t *test) string {
	kind := shape.Kind(t.ints["shape"])
	host, path := string(t.hex["host"]), string(t.hex["path"])
	sh := shape.Shape{Kind: kind, Host: host, Path: path}
	// The parameters a shape does not use are given as FORMAT.md says:
	// the host empty for raw, the path "/" for raw and tls.
	switch {
	case kind == shape.Raw && host != "":
		return fmt.Sprintf("field \"host\": given for shape raw (%q)", host)
	case kind != shape.HTTP && path != "/":
		return fmt.Sprintf("field \"path\": %q for shape %s, which uses none (\"/\")", path, kind)
	}
	if err := sh.Validate(); err != nil {
		return "the test's shape: " + err.Error()
	}
	for _, f := range []string{"filler", "user_id"} {
		if t.has(f) && kind != shape.TLS {
			return fmt.Sprintf("field %q: given for shape %s", f, kind)
		}
	}
	enc := t.hex["encoded"]
	msg1, filler, err := sh.Decode(enc)
	if !t.valid {
		if m := expectErr("read "+kind.String(), t.errName, err); m != "" {
			return m
		}
		if msg1 != nil {
			return "read " + kind.String() + ": yielded message 1 on error"
		}
		return ""
	}
	if kind == shape.TLS && !t.has("filler") {
		return "required field \"filler\" missing (shape tls)"
	}
	want := t.hex["message1"]
	shaped, serr := sh.Encode(want, t.hex["filler"])
	m := first(
		expectOK("shape "+kind.String(), serr),
		diff("shape "+kind.String(), "encoded", enc, shaped),
		expectOK("read "+kind.String(), err),
		diff("read "+kind.String(), "message1", want, msg1),
	)
	if m == "" && kind == shape.TLS {
		m = diff("read tls", "filler", t.hex["filler"], filler)
	}
	if m == "" && t.has("user_id") {
		k := shape.NewFillerKey(v2.PSK(t.b16("user_id")))
		m = diff("the user's filler of message1", "filler", k.Filler(want), t.hex["filler"])
	}
	return m
}
