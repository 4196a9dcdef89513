//go:build !linux

package datagram

import "syscall"

// Elsewhere the system's receive-buffer drops are not reported.
func countDrops(syscall.RawConn) {}

func dropCount([]byte) (uint32, bool) { return 0, false }
