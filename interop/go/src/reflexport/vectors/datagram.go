package vectors

import (
	"bytes"
	"fmt"

	"reflexport/datagram"
)

// datagramFields are the fields of kind datagram (FORMAT.md, SPEC.md
// 15.2), the same in both profiles.
func datagramFields() fields {
	return fields{
		"encoded":      hexF(-1, always),
		"address_type": intF(0, 255, inValid),
		"address":      hexF(-1, inValid),
		"port":         intF(0, 65535, inValid),
		"data":         hexF(-1, inValid),
	}
}

// checkDatagram: valid, decoding encoded yields the fields (data being
// every byte after the port) and encoding them yields encoded; invalid,
// decoding encoded fails (with error if given) and yields nothing, and the
// fields, when all are given, do not encode to exactly encoded (an encoder
// refuses what does not fit a frame: the 16385-byte tests' fields do not
// encode at all).
func checkDatagram(t *test) string {
	enc := t.hex["encoded"]
	all := t.has("address_type") && t.has("address") && t.has("port") && t.has("data")
	var want datagram.Datagram
	if all {
		want = datagram.Datagram{AddrType: byte(t.ints["address_type"]), Addr: t.hex["address"],
			Port: uint16(t.ints["port"]), Data: t.hex["data"]}
	}
	got, err := datagram.Decode(enc)
	if !t.valid {
		if m := expectErr("decode", t.errName, err); m != "" {
			return m
		}
		if got.Addr != nil || got.Data != nil {
			return "decode: yielded a datagram on error"
		}
		if all {
			if b, err := want.Encode(); err == nil && bytes.Equal(b, enc) {
				return "test contradicts itself: the fields encode to exactly encoded"
			}
		}
		return ""
	}
	switch at, n := want.AddrType, len(want.Addr); {
	case at == datagram.IPv4 && n != 4, at == datagram.IPv6 && n != 16, at == datagram.Domain && (n < 1 || n > 255):
		return fmt.Sprintf("field \"address\": %d bytes do not fit address type %d", n, at)
	}
	if m := expectOK("decode", err); m != "" {
		return m
	}
	if got.AddrType != want.AddrType || got.Port != want.Port {
		return fmt.Sprintf("decode: fields: expected address_type %d port %d, got %d %d",
			want.AddrType, want.Port, got.AddrType, got.Port)
	}
	b, eerr := want.Encode()
	return first(
		diff("decode", "address", want.Addr, got.Addr),
		diff("decode", "data", want.Data, got.Data),
		expectOK("encode", eerr),
		diff("encode", "encoded", enc, b),
	)
}
