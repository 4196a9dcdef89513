// Package e2e holds loopback end-to-end tests of the client and server
// (no code of its own).
package e2e
