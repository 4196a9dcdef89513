// Package header implements the request header at the start of the
// client's first DATA frame (SPEC.md section 6).
package header

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"

	"reflexport/rerr"
)

// Address types.
const (
	IPv4   byte = 1
	Domain byte = 3
	IPv6   byte = 4
)

// Commands (SPEC.md section 6): the codec does not interpret them; the
// server serves these two and answers any other with CLOSE 07.
const (
	CommandTCP byte = 1 // a TCP connect
	CommandUDP byte = 2 // a UDP association (SPEC.md section 15)
)

// Header is a decoded request header. Addr is 4 bytes, 16 bytes, or the
// domain's bytes without the length byte.
type Header struct {
	Command  byte
	Port     uint16
	AddrType byte
	Addr     []byte
}

// Decode decodes the header at the start of b and returns it with its exact
// length; every byte after it is application data.
func Decode(b []byte) (Header, int, error) {
	if len(b) < 4 {
		return Header{}, 0, rerr.TooShort
	}
	h := Header{Command: b[0], Port: binary.BigEndian.Uint16(b[1:3]), AddrType: b[3]}
	var start, n int
	switch h.AddrType {
	case IPv4:
		start, n = 4, 4
	case IPv6:
		start, n = 4, 16
	case Domain:
		if len(b) < 5 {
			return Header{}, 0, rerr.TooShort
		}
		if b[4] == 0 {
			return Header{}, 0, rerr.BadDomainLength
		}
		start, n = 5, int(b[4])
	default:
		return Header{}, 0, rerr.BadAddressType
	}
	if len(b) < start+n {
		return Header{}, 0, rerr.TooShort
	}
	h.Addr = append([]byte(nil), b[start:start+n]...)
	return h, start + n, nil
}

// Encode returns the header's bytes.
func (h Header) Encode() ([]byte, error) {
	out := []byte{h.Command, byte(h.Port >> 8), byte(h.Port), h.AddrType}
	switch h.AddrType {
	case IPv4:
		if len(h.Addr) != 4 {
			return nil, rerr.InvalidArgument
		}
	case IPv6:
		if len(h.Addr) != 16 {
			return nil, rerr.InvalidArgument
		}
	case Domain:
		if len(h.Addr) == 0 {
			return nil, rerr.BadDomainLength
		}
		if len(h.Addr) > 255 {
			return nil, rerr.InvalidArgument
		}
		out = append(out, byte(len(h.Addr)))
	default:
		return nil, rerr.BadAddressType
	}
	return append(out, h.Addr...), nil
}

// HostPort returns the target as "host:port" for net.Dial.
func (h Header) HostPort() string {
	var host string
	switch h.AddrType {
	case IPv4, IPv6:
		host = net.IP(h.Addr).String()
	default:
		host = string(h.Addr)
	}
	return net.JoinHostPort(host, strconv.Itoa(int(h.Port)))
}

// String is for logs.
func (h Header) String() string {
	return fmt.Sprintf("cmd %d %s", h.Command, h.HostPort())
}
