package vectors

import (
	"bytes"
	"fmt"
	"math/rand"

	"reflexport/frame"
	"reflexport/header"
	"reflexport/rerr"
)

func knownErrorName(name string) bool {
	_, ok := rerr.ByName(name)
	return ok
}

// diff names the first differing byte of want and got ("" if equal).
func diff(op, what string, want, got []byte) string {
	if bytes.Equal(want, got) {
		return ""
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	show := func(b []byte) string {
		if i < len(b) {
			return fmt.Sprintf("%02x", b[i])
		}
		return "end"
	}
	return fmt.Sprintf("%s: %s differ at byte %d: expected %s, got %s", op, what, i, show(want), show(got))
}

// expectErr checks that an operation failed, with the named error if want
// is not "".
func expectErr(op, want string, got error) string {
	if got == nil {
		if want == "" {
			want = "an error"
		}
		return fmt.Sprintf("%s: expected error %s, got ok", op, want)
	}
	if want != "" && rerr.Name(got) != want {
		return fmt.Sprintf("%s: expected error %s, got %s", op, want, rerr.Name(got))
	}
	return ""
}

func expectOK(op string, err error) string {
	if err != nil {
		return fmt.Sprintf("%s: expected ok, got error %s", op, rerr.Name(err))
	}
	return ""
}

func first(msgs ...string) string {
	for _, m := range msgs {
		if m != "" {
			return m
		}
	}
	return ""
}

// profileFrames is how a profile turns a key into a frame AEAD, and its
// counter range.
type profileFrames struct {
	aead     func([32]byte) frame.AEAD
	counters frame.Counters
}

var (
	v1Frames = profileFrames{frame.NewV1AEAD, frame.V1Counters}
	v2Frames = profileFrames{frame.NewV2AEAD, frame.V2Counters}
)

func frameFields() fields {
	return fields{
		"key":        hexF(32, always),
		"counter":    u64F(always),
		"wire":       hexF(-1, always),
		"frame_type": intF(0, 255, inValid),
		"payload":    hexF(-1, inValid),
	}
}

func checkFrame(pf profileFrames) func(*test) string {
	return func(t *test) string {
		key, ctr, wire := t.b32("key"), t.u64["counter"], t.hex["wire"]
		a := pf.aead(key)
		op := frame.NewOpener(a, ctr, pf.counters.Last)
		typ, payload, err := op.Open(nil, wire)
		if t.valid {
			ft, want := byte(t.ints["frame_type"]), t.hex["payload"]
			sealed, serr := frame.NewSealer(a, ctr, pf.counters.Last).Seal(nil, frame.Type(ft), want)
			if m := expectOK("seal", serr); m != "" {
				return m
			}
			return first(
				diff("seal", "wire", wire, sealed),
				expectOK("open", err),
				typeDiff("open", ft, byte(typ)),
				diff("open", "payload", want, payload),
			)
		}
		if m := expectErr("open", t.errName, err); m != "" {
			return m
		}
		if payload != nil {
			return "open: yielded a payload on error"
		}
		if t.has("frame_type") && t.has("payload") {
			ft := frame.Type(t.ints["frame_type"])
			if ft.Valid() {
				sealed, serr := frame.NewSealer(a, ctr, pf.counters.Last).Seal(nil, ft, t.hex["payload"])
				if serr == nil && bytes.Equal(sealed, wire) {
					return "test contradicts itself: frame_type and payload seal to exactly wire"
				}
			}
		}
		return ""
	}
}

func typeDiff(op string, want, got byte) string {
	if want != got {
		return fmt.Sprintf("%s: frame_type: expected %d, got %d", op, want, got)
	}
	return ""
}

func frameStreamFields() fields {
	return fields{
		"key":           hexF(32, always),
		"first_counter": u64F(always),
		"wire":          hexF(-1, always),
		"frames":        framesF(inValid),
	}
}

// chunking is one way of splitting a stream: chunk sizes, cycled; the
// last chunk may be shorter.
type chunking struct {
	name  string
	sizes []int
}

// chunkings returns the 23 chunkings of FORMAT.md: whole; 1, 2, 3, 5, 7,
// 16, 17, 18, 19, 64, 1000, 4096 and 16403-byte chunks; 1-2-3 cycles; and
// 8 pseudo-random splits (seeded by the test id, so reproducible).
func chunkings(n int, id int64) []chunking {
	whole := n
	if whole == 0 {
		whole = 1
	}
	cs := []chunking{{"whole", []int{whole}}}
	for _, k := range []int{1, 2, 3, 5, 7, 16, 17, 18, 19, 64, 1000, 4096, 16403} {
		cs = append(cs, chunking{fmt.Sprintf("%d-byte chunks", k), []int{k}})
	}
	cs = append(cs, chunking{"1-2-3 cycles", []int{1, 2, 3}})
	for i := 0; i < 8; i++ {
		r := rand.New(rand.NewSource(id*8 + int64(i)))
		var sizes []int
		max := 40
		if i%2 == 1 {
			max = 2 * frame.MaxWire
		}
		for total := 0; total < n || len(sizes) == 0; {
			s := 1 + r.Intn(max)
			sizes = append(sizes, s)
			total += s
		}
		cs = append(cs, chunking{fmt.Sprintf("random split %d", i+1), sizes})
	}
	return cs
}

// decodeStream feeds wire to a fresh decoder under one chunking; it
// returns the frames yielded and the first error (from a chunk or the end).
func decodeStream(pf profileFrames, key [32]byte, start uint64, wire []byte, c chunking) ([]frameVal, error) {
	d := frame.NewDecoder(frame.NewOpener(pf.aead(key), start, pf.counters.Last))
	var got []frameVal
	emit := func(t frame.Type, p []byte) error {
		got = append(got, frameVal{Type: byte(t), Payload: append([]byte{}, p...)})
		return nil
	}
	var err error
	for i, off := 0, 0; off < len(wire); i++ {
		s := c.sizes[i%len(c.sizes)]
		if off+s > len(wire) {
			s = len(wire) - off
		}
		if e := d.Write(wire[off:off+s], emit); e != nil && err == nil {
			err = e
		}
		off += s
	}
	if e := d.End(); e != nil && err == nil {
		err = e
	}
	return got, err
}

func framesDiff(op string, want, got []frameVal) string {
	for i := 0; i < len(want) && i < len(got); i++ {
		if m := first(typeDiff(fmt.Sprintf("%s: frame %d", op, i), want[i].Type, got[i].Type),
			diff(op, fmt.Sprintf("frame %d payload", i), want[i].Payload, got[i].Payload)); m != "" {
			return m
		}
	}
	if len(want) != len(got) {
		return fmt.Sprintf("%s: expected %d frames, got %d", op, len(want), len(got))
	}
	return ""
}

func checkFrameStream(pf profileFrames) func(*test) string {
	return func(t *test) string {
		key, start, wire := t.b32("key"), t.u64["first_counter"], t.hex["wire"]
		var reference []frameVal
		for i, c := range chunkings(len(wire), t.id) {
			got, err := decodeStream(pf, key, start, wire, c)
			op := "stream (" + c.name + ")"
			if t.valid {
				if m := first(expectOK(op, err), framesDiff(op, t.frames, got)); m != "" {
					return m
				}
				continue
			}
			if m := expectErr(op, t.errName, err); m != "" {
				return m
			}
			if t.hasFr {
				if m := framesDiff(op, t.frames, got); m != "" {
					return m
				}
			} else if i == 0 {
				reference = got
			} else if m := framesDiff(op+" against whole", reference, got); m != "" {
				return m
			}
		}
		return ""
	}
}

func requestHeaderFields() fields {
	return fields{
		"encoded":      hexF(-1, always),
		"trailing":     hexF(-1, inValid),
		"command":      intF(0, 255, inValid),
		"port":         intF(0, 65535, inValid),
		"address_type": intF(0, 255, inValid),
		"address":      hexF(-1, inValid),
	}
}

func checkRequestHeader(t *test) string {
	enc := t.hex["encoded"]
	allValues := t.has("command") && t.has("port") && t.has("address_type") && t.has("address")
	var fromFields header.Header
	if allValues {
		fromFields = header.Header{Command: byte(t.ints["command"]), Port: uint16(t.ints["port"]),
			AddrType: byte(t.ints["address_type"]), Addr: t.hex["address"]}
	}
	if !t.valid {
		_, _, err := header.Decode(enc)
		if m := expectErr("decode", t.errName, err); m != "" {
			return m
		}
		if allValues {
			if b, err := fromFields.Encode(); err == nil && bytes.Equal(b, enc) {
				return "test contradicts itself: the fields encode to exactly encoded"
			}
		}
		return ""
	}
	switch at, n := fromFields.AddrType, len(fromFields.Addr); {
	case at == header.IPv4 && n != 4, at == header.IPv6 && n != 16, at == header.Domain && (n < 1 || n > 255):
		return fmt.Sprintf("field \"address\": %d bytes do not fit address type %d", n, at)
	}
	in := append(append([]byte{}, enc...), t.hex["trailing"]...)
	h, n, err := header.Decode(in)
	if m := expectOK("decode", err); m != "" {
		return m
	}
	if n != len(enc) {
		return fmt.Sprintf("decode: header length: expected %d, got %d", len(enc), n)
	}
	if h.Command != fromFields.Command || h.Port != fromFields.Port || h.AddrType != fromFields.AddrType {
		return fmt.Sprintf("decode: fields: expected command %d port %d address_type %d, got %d %d %d",
			fromFields.Command, fromFields.Port, fromFields.AddrType, h.Command, h.Port, h.AddrType)
	}
	if m := diff("decode", "address", fromFields.Addr, h.Addr); m != "" {
		return m
	}
	b, err := fromFields.Encode()
	return first(expectOK("encode", err), diff("encode", "encoded", enc, b))
}
