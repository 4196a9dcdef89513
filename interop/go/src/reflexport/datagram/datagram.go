// Package datagram is a UDP datagram as an association carries it in one
// DATA frame (SPEC.md section 15.2): ATYP || ADDR || PORT || data, RFC
// 1928's address form (the port after the address, unlike the request
// header), and the UDP socket both ends of an association send from
// (socket.go).
package datagram

import (
	"encoding/binary"
	"fmt"
	"net"
	"strconv"

	"reflexport/frame"
	"reflexport/header"
	"reflexport/rerr"
)

// Address types: those of the request header (SPEC.md sections 6, 15.2).
const (
	IPv4   = header.IPv4
	Domain = header.Domain
	IPv6   = header.IPv6
)

// MaxPayload is the largest payload: a datagram is never split across
// frames, so it and its address form fit one frame.
const MaxPayload = frame.MaxPayload

// The largest datagrams (SPEC.md 15.2): 16384 minus the address form.
const (
	MaxIPv4Data = MaxPayload - 7  // 16377
	MaxIPv6Data = MaxPayload - 19 // 16365
)

// Datagram is one decoded payload. Addr is 4 bytes, 16 bytes, or the
// domain's bytes without its length byte.
type Datagram struct {
	AddrType byte
	Addr     []byte
	Port     uint16
	Data     []byte
}

// Decode decodes a whole DATA payload. Addr and Data point into p (a
// payload is handled before the next frame is read; copying every datagram
// would cost a copy per frame for nothing). The checks are SPEC.md 15.2's,
// in its order: above 16384 bytes frame_too_large; then front to back the
// first problem met: a field the payload ends before (the address type, a
// domain's length byte, the address, the port) too_short, an address type
// other than 1, 3, 4 bad_address_type, a domain length of 0
// bad_domain_length.
func Decode(p []byte) (Datagram, error) {
	if len(p) > MaxPayload {
		return Datagram{}, rerr.FrameTooLarge
	}
	if len(p) < 1 {
		return Datagram{}, rerr.TooShort
	}
	d := Datagram{AddrType: p[0]}
	start, n := 1, 0
	switch d.AddrType {
	case IPv4:
		n = 4
	case IPv6:
		n = 16
	case Domain:
		if len(p) < 2 {
			return Datagram{}, rerr.TooShort
		}
		if p[1] == 0 {
			return Datagram{}, rerr.BadDomainLength
		}
		start, n = 2, int(p[1])
	default:
		return Datagram{}, rerr.BadAddressType
	}
	end := start + n
	if len(p) < end+2 { // the address, then the port
		return Datagram{}, rerr.TooShort
	}
	d.Addr = p[start:end:end]
	d.Port = binary.BigEndian.Uint16(p[end:])
	d.Data = p[end+2:]
	return d, nil
}

// Size returns the encoded size, or why d cannot be encoded: an address
// that does not fit its type (bad_address_type, bad_domain_length for an
// empty domain, invalid_argument for a wrong size), or a payload above
// 16384 bytes (frame_too_large: what does not fit a frame is dropped by
// the side that would send it, never sent in pieces).
func (d Datagram) Size() (int, error) {
	var form int
	switch d.AddrType {
	case IPv4:
		if len(d.Addr) != 4 {
			return 0, rerr.InvalidArgument
		}
		form = 1 + 4 + 2
	case IPv6:
		if len(d.Addr) != 16 {
			return 0, rerr.InvalidArgument
		}
		form = 1 + 16 + 2
	case Domain:
		if len(d.Addr) == 0 {
			return 0, rerr.BadDomainLength
		}
		if len(d.Addr) > 255 {
			return 0, rerr.InvalidArgument
		}
		form = 1 + 1 + len(d.Addr) + 2
	default:
		return 0, rerr.BadAddressType
	}
	if form+len(d.Data) > MaxPayload {
		return 0, rerr.FrameTooLarge
	}
	return form + len(d.Data), nil
}

// Append appends d's encoding to dst; nothing is appended on error (Size's
// refusals).
func (d Datagram) Append(dst []byte) ([]byte, error) {
	if _, err := d.Size(); err != nil {
		return dst, err
	}
	dst = append(dst, d.AddrType)
	if d.AddrType == Domain {
		dst = append(dst, byte(len(d.Addr)))
	}
	dst = append(dst, d.Addr...)
	dst = binary.BigEndian.AppendUint16(dst, d.Port)
	return append(dst, d.Data...), nil
}

// Encode returns d's encoding.
func (d Datagram) Encode() ([]byte, error) {
	n, err := d.Size()
	if err != nil {
		return nil, err
	}
	return d.Append(make([]byte, 0, n))
}

// From is a datagram with a source address, as the server sends what
// arrived on its socket (SPEC.md 15.2): always an IP address, an
// IPv4-mapped IPv6 one (::ffff:a.b.c.d, how a dual-stack socket reports an
// IPv4 source) as IPv4.
func From(a *net.UDPAddr, data []byte) Datagram {
	d := Datagram{AddrType: IPv6, Addr: a.IP.To16(), Port: uint16(a.Port), Data: data}
	if ip4 := a.IP.To4(); ip4 != nil {
		d.AddrType, d.Addr = IPv4, ip4
	}
	return d
}

// IP returns the address of an IPv4 or IPv6 datagram (nil for a domain).
func (d Datagram) IP() net.IP {
	if d.AddrType == IPv4 || d.AddrType == IPv6 {
		return net.IP(d.Addr)
	}
	return nil
}

// String is for logs.
func (d Datagram) String() string {
	host := string(d.Addr)
	if ip := d.IP(); ip != nil {
		host = ip.String()
	}
	return fmt.Sprintf("%s (%d bytes)", net.JoinHostPort(host, strconv.Itoa(int(d.Port))), len(d.Data))
}
