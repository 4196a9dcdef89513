// Package dh is X25519 (RFC 7748) with the Reflex refusal of low-order
// public keys (SPEC.md section 4, step 2).
package dh

import (
	"crypto/rand"
	"crypto/subtle"
	"io"

	"golang.org/x/crypto/curve25519"

	"reflexport/rerr"
)

// KeyPair is an X25519 key pair.
type KeyPair struct {
	Private, Public [32]byte
}

// PublicKey returns the base-point multiple of priv (priv is clamped as RFC
// 7748 says).
func PublicKey(priv [32]byte) [32]byte {
	var pub [32]byte
	curve25519.ScalarBaseMult(&pub, &priv)
	return pub
}

// FromPrivate returns the key pair of priv.
func FromPrivate(priv [32]byte) KeyPair { return KeyPair{Private: priv, Public: PublicKey(priv)} }

// Generate draws a key pair from r (crypto/rand when nil).
func Generate(r io.Reader) (KeyPair, error) {
	if r == nil {
		r = rand.Reader
	}
	var priv [32]byte
	if _, err := io.ReadFull(r, priv[:]); err != nil {
		return KeyPair{}, err
	}
	return FromPrivate(priv), nil
}

// Shared returns X25519(priv, pub). An all-zero result (a small-order
// public key) is refused with low_order_point; every other key, including
// non-canonical encodings and twist points, is used as RFC 7748 says.
func Shared(priv, pub [32]byte) ([32]byte, error) {
	var out, zero [32]byte
	curve25519.ScalarMult(&out, &priv, &pub)
	if subtle.ConstantTimeCompare(out[:], zero[:]) == 1 {
		return zero, rerr.LowOrderPoint
	}
	return out, nil
}

// Wipe zeroes a secret.
func Wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
