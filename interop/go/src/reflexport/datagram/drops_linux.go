package datagram

import (
	"syscall"
	"unsafe"
)

// countDrops asks Linux to report, with each datagram, how many datagrams
// the socket has dropped so far for want of room (SO_RXQ_OVFL): SPEC.md
// 15.3's server reads only while it can write to its client, and counts
// what the system drops meanwhile.
func countDrops(raw syscall.RawConn) {
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RXQ_OVFL, 1)
	})
}

// dropCount reads the SO_RXQ_OVFL count from a datagram's control data: a
// uint32 in host byte order, sent only once it is not zero.
func dropCount(oob []byte) (uint32, bool) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SO_RXQ_OVFL && len(m.Data) >= 4 {
			var v uint32
			copy((*[4]byte)(unsafe.Pointer(&v))[:], m.Data[:4]) // host byte order
			return v, true
		}
	}
	return 0, false
}
