package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"reflexport/datagram"
	"reflexport/frame"
	"reflexport/rerr"
	"reflexport/socks5"
	"reflexport/tunnel"
)

// UDPCounter names one of the server's UDP counts (SPEC.md 15.3: every
// datagram dropped is counted).
type UDPCounter int

const (
	UDPSent           UDPCounter = iota // client datagrams sent to their destination
	UDPReceived                         // datagrams passed on to the client
	UDPDropUnroutable                   // port 0, a name that does not resolve, an address family the socket lacks
	UDPDropSend                         // a send the system refused or could not take at once
	UDPDropTooLarge                     // arrived too large for a frame
	UDPDropOverflow                     // dropped by the system for want of room in the receive buffer (SO_RXQ_OVFL)
	udpCounters
)

var udpCounterNames = [udpCounters]string{"sent", "received", "unroutable", "send failed", "too large", "overflow"}

// udpState is the server's: associations per user, and the counts.
type udpState struct {
	mu     sync.Mutex
	users  map[[16]byte]int
	counts [udpCounters]atomic.Int64
}

// UDPCount returns one of the server's UDP counts, over every association.
func (s *Server) UDPCount(c UDPCounter) int64 { return s.udp.counts[c].Load() }

// UDPAssociations returns how many associations user holds now.
func (s *Server) UDPAssociations(user [16]byte) int {
	s.udp.mu.Lock()
	defer s.udp.mu.Unlock()
	return s.udp.users[user]
}

func (s *Server) takeUDP(user [16]byte) bool {
	s.udp.mu.Lock()
	defer s.udp.mu.Unlock()
	if s.udp.users[user] >= s.cfg.UDPPerUser {
		return false
	}
	s.udp.users[user]++
	return true
}

func (s *Server) releaseUDP(user [16]byte) {
	s.udp.mu.Lock()
	defer s.udp.mu.Unlock()
	if s.udp.users[user]--; s.udp.users[user] <= 0 {
		delete(s.udp.users, user)
	}
}

// associate serves a UDP association (SPEC.md section 15): the connect
// result (an empty DATA frame once the socket is open; CLOSE 02 when UDP
// is off or the user's associations are at their cap, 01 when no socket
// opens), then one datagram per DATA frame both ways. first is what
// followed the header in the request frame: the first datagram, sent once
// the association is open.
func (s *Server) associate(ctx context.Context, sess *tunnel.Session, user [16]byte, first []byte, prefix string) {
	switch {
	case s.cfg.NoUDP:
		s.cfg.Log.Printf("%s: refused (reply 02): UDP is off", prefix)
		s.refuse(sess, socks5.NotAllowed)
		return
	case !s.takeUDP(user):
		s.cfg.Log.Printf("%s: refused (reply 02): the user's %d associations are open", prefix, s.cfg.UDPPerUser)
		s.refuse(sess, socks5.NotAllowed)
		return
	}
	// One unconnected socket per association, on the wildcard address:
	// every datagram leaves from it, so a destination sees one source per
	// association (15.3).
	sock, err := datagram.Listen(nil, "")
	if err != nil {
		s.releaseUDP(user)
		s.cfg.Log.Printf("%s: refused (reply 01): no UDP socket: %v", prefix, err)
		s.refuse(sess, socks5.GeneralFailure)
		return
	}
	a := &association{srv: s, sess: sess, sock: sock, user: user, start: time.Now()}
	if err := sess.SendData(nil); err != nil { // the socket is open
		a.end(byError, err)
	} else if len(first) > 0 {
		a.datagram(ctx, first)
	}
	a.run(ctx)
	var counts []string
	for c := UDPCounter(0); c < udpCounters; c++ {
		if n := a.counts[c].Load(); n > 0 || c <= UDPReceived {
			counts = append(counts, fmt.Sprintf("%d %s", n, udpCounterNames[c]))
		}
	}
	s.cfg.Log.Printf("%s from %s: %s (datagrams: %s)", prefix, sock.LocalAddr(), a.why, strings.Join(counts, ", "))
}

// How an association ends (SPEC.md 15.4).
type endKind int

const (
	byClient   endKind = iota // the client's CLOSE: ours, then the connection closes
	byIdle                    // no datagram either way for the idle timeout: our CLOSE
	byShutdown                // the server stops: our CLOSE
	byError                   // a session error (a bad frame or datagram, the connection lost): torn down
)

// association is one UDP association of the server.
type association struct {
	srv   *Server
	sess  *tunnel.Session
	sock  *datagram.Socket
	user  [16]byte
	start time.Time
	last  atomic.Int64 // when the last datagram went either way: time since start

	counts [udpCounters]atomic.Int64
	once   sync.Once
	ended  atomic.Bool
	why    string // set once, in end; read after run
}

func (a *association) count(c UDPCounter, n int64) {
	if n > 0 {
		a.counts[c].Add(n)
		a.srv.udp.counts[c].Add(n)
	}
}

// touch records a datagram either way (the idle timeout's clock). A
// datagram counts whatever became of it: the client sent it, or it
// arrived on the socket.
func (a *association) touch() { a.last.Store(int64(time.Since(a.start))) }

func (a *association) idleFor() time.Duration {
	return time.Since(a.start) - time.Duration(a.last.Load())
}

// end ends the association once: the socket closes, the user's slot is
// given back before our CLOSE goes (a client that has read it may open its
// next association at once), then the connection is closed (an error), or
// our CLOSE is sent: at once on the client's CLOSE, else the client's
// answer is awaited for a while (as after a refusal, so ours is not lost
// to a reset). Every wait on the connection from now on is bounded.
func (a *association) end(k endKind, err error) {
	a.once.Do(func() {
		a.ended.Store(true)
		a.sock.Close()
		a.srv.releaseUDP(a.user)
		c := a.sess.Conn()
		switch k {
		case byError:
			a.why = "ended: " + rerr.Name(err)
			c.Close()
			return
		case byClient:
			a.why = "closed by the client"
		case byIdle:
			a.why = fmt.Sprintf("idle for %v", a.srv.cfg.UDPIdleTimeout)
		case byShutdown:
			a.why = "server shutting down"
		}
		c.SetWriteDeadline(time.Now().Add(drainWait))
		a.sess.SendClose(nil)
		c.SetReadDeadline(time.Now().Add(drainWait))
	})
}

// run carries the association until it ends: frames from the client here,
// datagrams from the socket and the idle clock beside.
func (a *association) run(ctx context.Context) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		a.down()
	}()
	go func() {
		defer wg.Done()
		a.watch(ctx, done)
	}()
	a.up(ctx)
	a.end(byError, rerr.Closed) // no-op unless up stopped first some other way
	a.sock.Close()
	a.sess.Conn().Close()
	close(done)
	wg.Wait()
}

// up reads the client's frames: each DATA frame is one datagram to send
// (an empty one carries none), CLOSE ends the association, any error ends
// it. After our own CLOSE (idle, shutdown), what still comes is read and
// dropped until the client's CLOSE, within the drain wait.
func (a *association) up(ctx context.Context) {
	for {
		t, p, err := a.sess.Recv()
		if err != nil {
			a.end(byError, err)
			return
		}
		switch t {
		case frame.Close:
			a.end(byClient, nil)
			return
		case frame.Data:
			if len(p) > 0 && !a.ended.Load() && !a.datagram(ctx, p) {
				return
			}
		}
	}
}

// datagram sends one payload from the client; one that does not decode is
// a session error (15.2), reported as false.
func (a *association) datagram(ctx context.Context, p []byte) bool {
	d, err := datagram.Decode(p)
	if err != nil {
		a.end(byError, err)
		return false
	}
	a.touch()
	a.count(a.send(ctx, d), 1)
	return true
}

// send sends d to its destination without waiting for room, and says what
// became of it. A domain is resolved (its first address the socket can
// reach), within ConnectTimeout: the association's next frame waits
// meanwhile (15.3). UDP has no refusal to pass on: a datagram that cannot
// go is dropped and counted, and the client hears nothing.
func (a *association) send(ctx context.Context, d datagram.Datagram) UDPCounter {
	if d.Port == 0 {
		return UDPDropUnroutable
	}
	to := &net.UDPAddr{IP: d.IP(), Port: int(d.Port)}
	if to.IP == nil {
		rctx, cancel := context.WithTimeout(ctx, a.srv.cfg.ConnectTimeout)
		addrs, _ := net.DefaultResolver.LookupIPAddr(rctx, string(d.Addr))
		cancel()
		for _, ad := range addrs {
			if a.sock.CanReach(ad.IP) {
				to.IP, to.Zone = ad.IP, ad.Zone
				break
			}
		}
	}
	if to.IP == nil || !a.sock.CanReach(to.IP) {
		return UDPDropUnroutable
	}
	if err := a.sock.SendNow(d.Data, to); err != nil {
		return UDPDropSend
	}
	return UDPSent
}

// down passes every datagram that arrives, from any source, to the client
// in one DATA frame with its source. It reads only while it can write to
// the client: while the client is slow, datagrams wait in the socket's
// buffer and the system drops what does not fit (counted from
// SO_RXQ_OVFL).
func (a *association) down() {
	buf := make([]byte, datagram.RecvBuffer)
	out := make([]byte, 0, datagram.MaxPayload)
	for {
		n, from, truncated, dropped, err := a.sock.Recv(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				a.end(byError, err)
			}
			return
		}
		a.count(UDPDropOverflow, int64(dropped))
		a.touch()
		if truncated {
			a.count(UDPDropTooLarge, 1)
			continue
		}
		p, err := datagram.From(from, buf[:n]).Append(out[:0])
		if err != nil { // does not fit a frame: never sent in pieces
			a.count(UDPDropTooLarge, 1)
			continue
		}
		if err := a.sess.SendFrame(p); err != nil {
			a.end(byError, err) // no-op once ended (our CLOSE: closed)
			return
		}
		a.count(UDPReceived, 1)
	}
}

// watch ends the association once no datagram went either way for the
// idle timeout, or when the server stops.
func (a *association) watch(ctx context.Context, done <-chan struct{}) {
	idle := a.srv.cfg.UDPIdleTimeout
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			a.end(byShutdown, nil)
			return
		case <-timer.C:
			left := idle - a.idleFor()
			if left <= 0 {
				a.end(byIdle, nil)
				return
			}
			timer.Reset(left)
		}
	}
}
