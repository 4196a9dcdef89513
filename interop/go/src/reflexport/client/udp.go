package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"reflexport/datagram"
	"reflexport/frame"
	"reflexport/header"
	"reflexport/rerr"
	"reflexport/socks5"
)

// drainWait bounds the wait for the server's CLOSE after ours, and for
// the sending of a CLOSE to a server that does not read.
const drainWait = 5 * time.Second

// The relay's counts, logged when the association ends.
type relayCounter int

const (
	relaySent          relayCounter = iota // datagrams from the application, into the tunnel
	relayDelivered                         // datagrams from the server, to the application
	relayFragment                          // FRAG not zero: fragments are not supported
	relayUndecodable                       // no RSV FRAG, or a payload that does not decode (15.2)
	relayTooLarge                          // a payload above 16384 bytes: it does not fit a frame
	relayWrongSource                       // not from the application's address
	relayNoDestination                     // from the server before the application's port is known
	relaySendFailed                        // the system did not take it at once
	relayCounters
)

var relayCounterNames = [relayCounters]string{"sent", "delivered", "fragments", "undecodable", "too large",
	"wrong source", "no destination yet", "send failed"}

// associate serves a SOCKS5 UDP ASSOCIATE (RFC 1928 section 7, SPEC.md
// 15.5) with one tunnel: a UDP relay socket on the address the
// application connected to, the request (command UDP, the request's DST)
// and the server's result, then the reply with the relay's address (or
// the server's refusal code), then datagrams both ways until the
// application closes the control connection or the tunnel ends.
func (c *Client) associate(ctx context.Context, local net.Conn, h header.Header) {
	prefix := fmt.Sprintf("socks %s udp", local.RemoteAddr())
	la, ok1 := local.LocalAddr().(*net.TCPAddr)
	ra, ok2 := local.RemoteAddr().(*net.TCPAddr)
	var sock *datagram.Socket
	err := errors.New("the control connection is not TCP")
	if ok1 && ok2 {
		// The relay listens where the application reached us: an address
		// it can send to, and the one the reply names.
		sock, err = datagram.Listen(la.IP, la.Zone)
	}
	if err != nil {
		socks5.WriteReply(local, socks5.GeneralFailure)
		local.Close()
		c.cfg.Log.Printf("%s: failed (reply 01): relay socket: %v", prefix, err)
		return
	}
	tun, err := Dial(ctx, c.cfg, h)
	if err != nil {
		code := socks5.GeneralFailure
		var rf *RefusedError
		if errors.As(err, &rf) {
			code = rf.Code
		}
		socks5.WriteReply(local, code)
		local.Close()
		sock.Close()
		c.cfg.Log.Printf("%s: failed (reply %02x): %v", prefix, code, err)
		return
	}
	r := &relay{tun: tun, sock: sock, local: local, appIP: ra.IP}
	if h.Port != 0 {
		// The application named the port it sends from (DST.PORT); from
		// its IP, the control connection's peer's.
		r.app = &net.UDPAddr{IP: ra.IP, Port: int(h.Port)}
	}
	if err := socks5.WriteReplyAddr(local, socks5.Succeeded, sock.LocalAddr()); err != nil {
		r.finish(true)
		c.cfg.Log.Printf("%s: socks reply: %v", prefix, err)
		return
	}
	why := r.run()
	var counts []string
	for k := relayCounter(0); k < relayCounters; k++ {
		if n := r.counts[k].Load(); n > 0 || k <= relayDelivered {
			counts = append(counts, fmt.Sprintf("%d %s", n, relayCounterNames[k]))
		}
	}
	c.cfg.Log.Printf("%s: relay %s: %s via %s (datagrams: %s)", prefix, sock.LocalAddr(), why, c.cfg.Profile, strings.Join(counts, ", "))
}

// relay is one association of the client.
type relay struct {
	tun   *Tunnel
	sock  *datagram.Socket
	local net.Conn // the SOCKS control connection
	appIP net.IP   // the control connection's peer: the only source accepted

	mu  sync.Mutex
	app *net.UDPAddr // where the server's datagrams go; nil until the port is known

	counts   [relayCounters]atomic.Int64
	once     sync.Once
	finished atomic.Bool // finish has run
	appEnded atomic.Bool // the application closed the control connection first
}

func (r *relay) count(k relayCounter) { r.counts[k].Add(1) }

func (r *relay) appAddr() *net.UDPAddr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.app
}

// run carries the association until the tunnel ends (the server's CLOSE,
// an error), the application's end of the control connection having sent
// our CLOSE first or not; it returns how it ended.
func (r *relay) run() string {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.up()
	}()
	go func() {
		defer wg.Done()
		r.control()
	}()
	why := r.down()
	r.finish(why == "closed")
	wg.Wait()
	if why == "closed" {
		if r.appEnded.Load() {
			return "closed by the application"
		}
		return "closed by the server"
	}
	return why
}

// finish ends the association once (SPEC.md 15.4): after the server's
// CLOSE (clean) ours, if not sent yet, then the tunnel, the relay socket
// and the control connection close.
func (r *relay) finish(clean bool) {
	r.once.Do(func() {
		r.finished.Store(true)
		conn := r.tun.Conn()
		if clean {
			conn.SetWriteDeadline(time.Now().Add(drainWait))
			r.tun.SendClose(nil) // closed if the application's end sent it
		}
		conn.Close()
		r.sock.Close()
		r.local.Close()
	})
}

// control waits for the application to close the control connection
// (anything it sends there is ignored): that ends the association, with
// our CLOSE; the relay closes (no datagram after CLOSE), and the server's
// CLOSE is awaited, within drainWait.
func (r *relay) control() {
	io.Copy(io.Discard, r.local)
	if r.finished.Load() {
		return // the tunnel ended first and closed the control connection
	}
	r.appEnded.Store(true)
	conn := r.tun.Conn()
	conn.SetWriteDeadline(time.Now().Add(drainWait))
	r.tun.SendClose(nil) // refused once the tunnel has ended: nothing to do then
	r.sock.Close()
	conn.SetReadDeadline(time.Now().Add(drainWait))
}

// up passes the application's datagrams into the tunnel, one DATA frame
// each: RSV FRAG dropped, the rest is the 15.2 payload as it is. Dropped:
// from another source, a fragment, a payload that does not decode or does
// not fit a frame.
func (r *relay) up() {
	buf := make([]byte, datagram.RecvBuffer)
	for {
		n, from, truncated, _, err := r.sock.Recv(buf)
		if err != nil {
			return // closed at the end
		}
		app := r.appAddr()
		if !from.IP.Equal(r.appIP) || (app != nil && app.Port != from.Port) {
			r.count(relayWrongSource)
			continue
		}
		p, ok := socks5.UDPPayload(buf[:n])
		switch {
		case truncated:
			r.count(relayTooLarge)
			continue
		case !ok && n >= socks5.UDPHeader:
			r.count(relayFragment)
			continue
		case !ok:
			r.count(relayUndecodable)
			continue
		}
		if _, err := datagram.Decode(p); err != nil {
			if err == rerr.FrameTooLarge {
				r.count(relayTooLarge)
			} else {
				r.count(relayUndecodable)
			}
			continue
		}
		if app == nil {
			// DST.PORT was 0: the first datagram accepted names the port.
			r.mu.Lock()
			r.app = &net.UDPAddr{IP: r.appIP, Port: from.Port, Zone: from.Zone}
			r.mu.Unlock()
		}
		if err := r.tun.SendFrame(p); err != nil {
			return // the tunnel has ended or our CLOSE went: down sees to it
		}
		r.count(relaySent)
	}
}

// down passes the server's datagrams to the application as 00 00 00 ||
// payload, until the server's CLOSE ("closed") or an error. A payload that
// does not decode is a session error (15.2).
func (r *relay) down() string {
	out := make([]byte, 0, socks5.UDPHeader+frame.MaxPayload)
	deliver := func(p []byte) error {
		if len(p) == 0 {
			return nil // no datagram (13.2)
		}
		if _, err := datagram.Decode(p); err != nil {
			return err
		}
		app := r.appAddr()
		if app == nil {
			r.count(relayNoDestination)
			return nil
		}
		out = append(append(out[:0], 0, 0, 0), p...)
		if err := r.sock.SendNow(out, app); err != nil {
			r.count(relaySendFailed)
			return nil
		}
		r.count(relayDelivered)
		return nil
	}
	// A result of data rather than an empty frame (13.4): its payload is
	// the first datagram.
	if err := deliver(r.tun.early); err != nil {
		r.finish(false)
		return "ended: " + rerr.Name(err)
	}
	for {
		t, p, err := r.tun.Recv()
		if err != nil {
			r.finish(false)
			return "ended: " + rerr.Name(err)
		}
		switch t {
		case frame.Close:
			return "closed"
		case frame.Data:
			if err := deliver(p); err != nil {
				r.finish(false)
				return "ended: " + rerr.Name(err)
			}
		}
	}
}
