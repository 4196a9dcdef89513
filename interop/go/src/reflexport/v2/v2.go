// Package v2 implements profile v2's handshake (SPEC.md section 11):
// Noise_NNpsk0_25519_ChaChaPoly_SHA256 with prologue "reflex/2", on
// github.com/flynn/noise.
package v2

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"

	"github.com/flynn/noise"
	"golang.org/x/crypto/hkdf"

	"reflexport/dh"
	"reflexport/frame"
	"reflexport/rerr"
)

// Sizes and constants of section 11.
const (
	ClientHelloSize = 76 // e.pub 32 + payload 28 + tag 16
	ServerHelloSize = 48 // e.pub 32 + tag 16
	PayloadSize     = 28 // timestamp 8 + nonce 16 + reserved 4
	Prologue        = "reflex/2"
	PSKSalt         = "reflex/2 psk"
)

// v1Magic is the v1 hello's first 4 bytes; a v2 client never starts its
// ephemeral key with them (section 11.3).
var v1Magic = []byte{0x52, 0x46, 0x58, 0x4c}

// PSK derives a user's pre-shared key (section 11.2).
func PSK(userID [16]byte) [32]byte {
	var psk [32]byte
	r := hkdf.New(sha256.New, userID[:], []byte(PSKSalt), nil)
	if _, err := io.ReadFull(r, psk[:]); err != nil {
		panic(err)
	}
	return psk
}

// Payload is message 1's payload.
type Payload struct {
	Timestamp int64
	Nonce     [16]byte
	Reserved  [4]byte
}

// Encode returns the 28 payload bytes.
func (p Payload) Encode() []byte {
	b := make([]byte, 0, PayloadSize)
	b = binary.BigEndian.AppendUint64(b, uint64(p.Timestamp))
	b = append(b, p.Nonce[:]...)
	return append(b, p.Reserved[:]...)
}

func decodePayload(b []byte) Payload {
	var p Payload
	p.Timestamp = int64(binary.BigEndian.Uint64(b[0:8]))
	copy(p.Nonce[:], b[8:24])
	copy(p.Reserved[:], b[24:28])
	return p
}

// ReservedOK reports whether the reserved bytes are zero.
func (p Payload) ReservedOK() bool { return p.Reserved == [4]byte{} }

// dhFunc is flynn/noise's 25519 with two changes: an all-zero DH result is
// the error rerr.LowOrderPoint (so it can be told from a bad tag), and the
// ephemeral key pair is the one *fixed holds when the "e" token is written
// (flynn/noise draws that key inside WriteMessage and ignores
// Config.EphemeralKeypair for it). The server fills *fixed after its trial.
type dhFunc struct{ fixed *dh.KeyPair }

func (d dhFunc) GenerateKeypair(r io.Reader) (noise.DHKey, error) {
	kp := dh.KeyPair{}
	if d.fixed != nil {
		kp = *d.fixed
	} else {
		var err error
		if kp, err = dh.Generate(r); err != nil {
			return noise.DHKey{}, err
		}
	}
	return noise.DHKey{Private: append([]byte(nil), kp.Private[:]...), Public: append([]byte(nil), kp.Public[:]...)}, nil
}

func (dhFunc) DH(priv, pub []byte) ([]byte, error) {
	if len(priv) != 32 || len(pub) != 32 {
		return nil, rerr.InvalidArgument
	}
	s, err := dh.Shared(*(*[32]byte)(priv), *(*[32]byte)(pub))
	if err != nil {
		return nil, err
	}
	return s[:], nil
}

func (dhFunc) DHLen() int     { return 32 }
func (dhFunc) DHName() string { return "25519" }

func newState(psk [32]byte, initiator bool, e *dh.KeyPair) (*noise.HandshakeState, error) {
	return noise.NewHandshakeState(noise.Config{
		CipherSuite:           noise.NewCipherSuite(dhFunc{fixed: e}, noise.CipherChaChaPoly, noise.HashSHA256),
		Pattern:               noise.HandshakeNN,
		Initiator:             initiator,
		Prologue:              []byte(Prologue),
		PresharedKey:          psk[:],
		PresharedKeyPlacement: 0,
	})
}

// Keys is the result of a completed handshake, from one side's view.
type Keys struct {
	C2S, S2C      noise.Cipher // Split()'s first and second CipherState
	HandshakeHash []byte
}

// ClientFrames returns the client's sealer (c2s) and opener (s2c).
func (k *Keys) ClientFrames() (*frame.Sealer, *frame.Opener) {
	c := frame.V2Counters
	return frame.NewSealer(frame.NewNoiseAEAD(k.C2S), c.First, c.Last),
		frame.NewOpener(frame.NewNoiseAEAD(k.S2C), c.First, c.Last)
}

// ServerFrames returns the server's sealer (s2c) and opener (c2s).
func (k *Keys) ServerFrames() (*frame.Sealer, *frame.Opener) {
	c := frame.V2Counters
	return frame.NewSealer(frame.NewNoiseAEAD(k.S2C), c.First, c.Last),
		frame.NewOpener(frame.NewNoiseAEAD(k.C2S), c.First, c.Last)
}

func keys(hs *noise.HandshakeState, c2s, s2c *noise.CipherState) *Keys {
	return &Keys{C2S: c2s.Cipher(), S2C: s2c.Cipher(), HandshakeHash: append([]byte(nil), hs.ChannelBinding()...)}
}

// Client is the initiator's side of one handshake.
type Client struct {
	hs  *noise.HandshakeState
	e   dh.KeyPair
	psk [32]byte
}

// ClientEphemeral draws a client ephemeral key pair whose public key does
// not start with the v1 magic (section 11.3).
func ClientEphemeral(r io.Reader) (dh.KeyPair, error) {
	for {
		kp, err := dh.Generate(r)
		if err != nil {
			return kp, err
		}
		if !bytes.HasPrefix(kp.Public[:], v1Magic) {
			return kp, nil
		}
	}
}

// NewClient starts a client handshake for userID with ephemeral key e.
func NewClient(userID [16]byte, e dh.KeyPair) (*Client, error) {
	psk := PSK(userID)
	hs, err := newState(psk, true, &e)
	if err != nil {
		return nil, err
	}
	return &Client{hs: hs, e: e, psk: psk}, nil
}

// PSK is the client's user's PSK (section 11.2): the tls shape's filler
// key is derived from it (SPEC.md 11.8).
func (c *Client) PSK() [32]byte { return c.psk }

// WriteHello writes message 1 (76 bytes).
func (c *Client) WriteHello(p Payload) ([]byte, error) {
	msg, _, _, err := c.hs.WriteMessage(nil, p.Encode())
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// ReadHello reads message 2 and completes the handshake. Errors:
// too_short, trailing_bytes, low_order_point, auth_failed.
func (c *Client) ReadHello(msg []byte) (*Keys, error) {
	switch {
	case len(msg) < ServerHelloSize:
		return nil, rerr.TooShort
	case len(msg) > ServerHelloSize:
		return nil, rerr.TrailingBytes
	}
	_, c2s, s2c, err := c.hs.ReadMessage(nil, msg)
	if err != nil {
		return nil, mapErr(err)
	}
	return keys(c.hs, c2s, s2c), nil
}

func mapErr(err error) error {
	var c rerr.Code
	if errors.As(err, &c) {
		return c
	}
	return rerr.AuthFailed
}

// Server holds the configured users' PSKs (derived once, at start).
type Server struct {
	ids  [][16]byte
	psks [][32]byte
}

// NewServer derives the PSK of every user.
func NewServer(users [][16]byte) *Server {
	s := &Server{}
	for _, u := range users {
		s.ids = append(s.ids, u)
		s.psks = append(s.psks, PSK(u))
	}
	return s
}

// Accepted is a message 1 that a user's PSK verified.
type Accepted struct {
	User       [16]byte
	Payload    Payload
	ClientEPub [32]byte
	hs         *noise.HandshakeState
	fixed      *dh.KeyPair
}

// ReadHello runs the trial of section 11.4: message 1 is read with every
// user's PSK, always all of them. Errors: too_short, trailing_bytes,
// auth_failed. The reserved bytes are not checked here.
func (s *Server) ReadHello(msg []byte) (*Accepted, error) {
	switch {
	case len(msg) < ClientHelloSize:
		return nil, rerr.TooShort
	case len(msg) > ClientHelloSize:
		return nil, rerr.TrailingBytes
	}
	var found *Accepted
	for i := range s.psks {
		a := &Accepted{fixed: &dh.KeyPair{}}
		// A fresh state per trial: a failed ReadMessage spoils it.
		hs, err := newState(s.psks[i], false, a.fixed)
		if err != nil {
			return nil, err
		}
		pt, _, _, err := hs.ReadMessage(nil, msg)
		if err != nil || len(pt) != PayloadSize || found != nil {
			continue
		}
		a.User, a.Payload, a.hs = s.ids[i], decodePayload(pt), hs
		copy(a.ClientEPub[:], msg[:32])
		found = a
	}
	if found == nil {
		return nil, rerr.AuthFailed
	}
	return found, nil
}

// WriteHello writes message 2 with the server's ephemeral key e and
// completes the handshake. A low-order client key is low_order_point.
func (a *Accepted) WriteHello(e dh.KeyPair) ([]byte, *Keys, error) {
	*a.fixed = e
	msg, c2s, s2c, err := a.hs.WriteMessage(nil, nil)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	return msg, keys(a.hs, c2s, s2c), nil
}
