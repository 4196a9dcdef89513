// Package socks5 is the server side of SOCKS5 (RFC 1928) as far as the
// Reflex client needs it: no authentication, CONNECT only, IPv4, IPv6 and
// domain names.
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
)

// ErrRefused is returned after a request this server refuses (the reply
// has been written).
var ErrRefused = errors.New("socks5: request refused")

// Accept negotiates the method and reads a CONNECT request from rw. It
// answers refusals itself. The returned header is the Reflex request
// header for the target (command TCP).
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
	if cmd != cmdConnect {
		WriteReply(rw, CommandNotSupported)
		return h, ErrRefused
	}
	return header.Header{Command: header.CommandTCP, Port: binary.BigEndian.Uint16(b[:2]), AddrType: atyp, Addr: addr}, nil
}

// WriteReply writes a reply with the given code and bound address
// 0.0.0.0:0 (the client does not learn the server's outbound address).
func WriteReply(w io.Writer, code byte) error {
	_, err := w.Write([]byte{version, code, 0, header.IPv4, 0, 0, 0, 0, 0, 0})
	return err
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
