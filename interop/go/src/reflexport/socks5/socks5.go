// Package socks5 is the server side of SOCKS5 (RFC 1928) as far as the
// Reflex client needs it: no authentication, CONNECT and UDP ASSOCIATE
// (section 7: the relay's datagrams are SPEC.md 15.2's payloads behind
// RSV FRAG), IPv4, IPv6 and domain names.
package socks5

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"reflexport/header"
)

// Reply codes of RFC 1928 section 6.
const (
	Succeeded           byte = 0
	GeneralFailure      byte = 1
	NotAllowed          byte = 2
	NetworkUnreachable  byte = 3
	HostUnreachable     byte = 4
	ConnectionRefused   byte = 5
	TTLExpired          byte = 6
	CommandNotSupported byte = 7
	AddrNotSupported    byte = 8
)

const (
	version      = 5
	noAuth       = 0
	noAcceptable = 0xff
	cmdConnect   = 1
	cmdUDP       = 3 // UDP ASSOCIATE
)

// ErrRefused is returned after a request this server refuses (the reply
// has been written).
var ErrRefused = errors.New("socks5: request refused")

// Accept negotiates the method and reads a CONNECT or UDP ASSOCIATE
// request from rw. It answers refusals itself. The returned header is the
// Reflex request header: command TCP and the target, or command UDP and
// the request's DST (the address and port the application will send its
// datagrams from, often 0.0.0.0:0).
func Accept(rw io.ReadWriter) (header.Header, error) {
	var h header.Header
	var b [262]byte
	if _, err := io.ReadFull(rw, b[:2]); err != nil {
		return h, err
	}
	if b[0] != version {
		return h, fmt.Errorf("socks5: version %d", b[0])
	}
	methods := b[2 : 2+int(b[1])]
	if _, err := io.ReadFull(rw, methods); err != nil {
		return h, err
	}
	ok := false
	for _, m := range methods {
		ok = ok || m == noAuth
	}
	if !ok {
		rw.Write([]byte{version, noAcceptable})
		return h, ErrRefused
	}
	if _, err := rw.Write([]byte{version, noAuth}); err != nil {
		return h, err
	}
	if _, err := io.ReadFull(rw, b[:4]); err != nil {
		return h, err
	}
	if b[0] != version {
		return h, fmt.Errorf("socks5: version %d", b[0])
	}
	cmd, atyp := b[1], b[3]
	var addr []byte
	switch atyp {
	case header.IPv4:
		addr = make([]byte, 4)
	case header.IPv6:
		addr = make([]byte, 16)
	case header.Domain:
		if _, err := io.ReadFull(rw, b[:1]); err != nil {
			return h, err
		}
		if b[0] == 0 {
			WriteReply(rw, AddrNotSupported)
			return h, ErrRefused
		}
		addr = make([]byte, b[0])
	default:
		WriteReply(rw, AddrNotSupported)
		return h, ErrRefused
	}
	if _, err := io.ReadFull(rw, addr); err != nil {
		return h, err
	}
	if _, err := io.ReadFull(rw, b[:2]); err != nil {
		return h, err
	}
	h = header.Header{Port: binary.BigEndian.Uint16(b[:2]), AddrType: atyp, Addr: addr}
	switch cmd {
	case cmdConnect:
		h.Command = header.CommandTCP
	case cmdUDP:
		h.Command = header.CommandUDP
	default:
		WriteReply(rw, CommandNotSupported)
		return header.Header{}, ErrRefused
	}
	return h, nil
}

// WriteReply writes a reply with the given code and bound address
// 0.0.0.0:0 (the client does not learn the server's outbound address).
func WriteReply(w io.Writer, code byte) error {
	_, err := w.Write([]byte{version, code, 0, header.IPv4, 0, 0, 0, 0, 0, 0})
	return err
}

// WriteReplyAddr writes a reply with a bound address: the UDP relay's, for
// a UDP ASSOCIATE (an IPv4 address as IPv4, else IPv6).
func WriteReplyAddr(w io.Writer, code byte, a *net.UDPAddr) error {
	b := []byte{version, code, 0}
	if ip4 := a.IP.To4(); ip4 != nil {
		b = append(append(b, header.IPv4), ip4...)
	} else {
		b = append(append(b, header.IPv6), a.IP.To16()...)
	}
	_, err := w.Write(binary.BigEndian.AppendUint16(b, uint16(a.Port)))
	return err
}

// UDPHeader is the RSV (2) and FRAG (1) bytes before a relay datagram's
// address (RFC 1928 section 7).
const UDPHeader = 3

// UDPPayload returns the SPEC.md 15.2 payload of a datagram from the
// application: the bytes after RSV and FRAG. ok is false for a datagram
// too short to have them or a fragment (FRAG not zero: fragments are not
// supported, such a datagram is dropped). RSV is not checked.
func UDPPayload(b []byte) (payload []byte, ok bool) {
	if len(b) < UDPHeader || b[2] != 0 {
		return nil, false
	}
	return b[UDPHeader:], true
}

// ReplyCode maps a dial error to a SOCKS5 reply code (used for the Reflex
// connect result, SPEC.md 13.4).
func ReplyCode(err error) byte {
	var ne net.Error
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return TTLExpired
	case errors.Is(err, syscall.ECONNREFUSED):
		return ConnectionRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return NetworkUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH), errors.As(err, &dnsErr):
		return HostUnreachable
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return NotAllowed
	}
	return GeneralFailure
}
