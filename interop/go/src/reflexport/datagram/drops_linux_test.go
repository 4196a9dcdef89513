package datagram

import (
	"net"
	"testing"
	"time"
)

// What the system drops for want of room is counted (SO_RXQ_OVFL): a
// receive buffer at its minimum, 200 datagrams into it unread, then one
// more after every datagram read, until every datagram sent is either
// read or counted as dropped.
func TestSystemDropsCounted(t *testing.T) {
	s, err := Listen(net.IPv4(127, 0, 0, 1), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.conn.SetReadBuffer(1); err != nil { // the system's minimum
		t.Fatal(err)
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	const blast = 200
	sent := 0
	send := func() {
		if _, err := peer.WriteToUDP(make([]byte, 1000), s.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		sent++
	}
	for i := 0; i < blast; i++ {
		send()
	}
	var read, dropped int
	buf := make([]byte, RecvBuffer)
	for i := 0; i < 4*blast && read+dropped < sent; i++ {
		// A datagram sent after a read always finds room once the queue
		// is empty, so a read never waits for nothing.
		s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, _, d, err := s.Recv(buf)
		if err != nil {
			t.Fatal(err)
		}
		read++
		dropped += int(d)
		if read+dropped < sent {
			send()
		}
	}
	if dropped == 0 || read+dropped != sent {
		t.Fatalf("sent %d, read %d, counted %d dropped", sent, read, dropped)
	}
	t.Logf("sent %d, read %d, counted %d dropped", sent, read, dropped)
}
