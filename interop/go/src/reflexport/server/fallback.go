package server

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// chunk is the result of one read: bytes, then (or instead) an error.
type chunk struct {
	b   []byte
	err error
}

// known is a read already done, as a channel the relay takes it from.
func known(c chunk) <-chan chunk {
	ch := make(chan chunk, 1)
	ch <- c
	return ch
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isReset reports a connection the peer reset, or one that is finished
// because it was (EPIPE: a write after the peer's reset).
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// resetConn closes c with a reset, not a FIN (SO_LINGER 0).
func resetConn(c net.Conn) {
	if l, ok := c.(interface{ SetLinger(int) error }); ok {
		l.SetLinger(0)
	}
	c.Close()
}

// readNow reads what has already arrived on c without waiting: one
// non-blocking read(2) on the socket (Go's sockets are non-blocking; the
// function given to RawConn.Read is run once and reports itself done
// whatever the read returned, so RawConn.Read never waits). ready is false
// when nothing has arrived yet (EAGAIN); otherwise n bytes were read, or
// err is io.EOF (the client's end of stream) or the socket's error.
func readNow(c net.Conn, buf []byte) (n int, err error, ready bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, nil, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, nil, false
	}
	var rerrno error
	if cerr := rc.Read(func(fd uintptr) bool {
		for {
			n, rerrno = syscall.Read(int(fd), buf)
			if rerrno != syscall.EINTR {
				return true
			}
		}
	}); cerr != nil {
		return 0, cerr, true
	}
	switch {
	case rerrno == syscall.EAGAIN:
		return 0, nil, false
	case rerrno != nil:
		return 0, os.NewSyscallError("read", rerrno), true
	case n == 0:
		return 0, io.EOF, true
	}
	return n, nil, true
}

// earlyDial is the fallback connection dialed at the accept (SPEC.md 12.1,
// "When the fallback is dialed"): its dial's result, then the result of
// its first read (the fallback moving first). Its fields other than the
// channels belong to the connection's goroutine.
type earlyDial struct {
	dialed chan dialResult // one value
	first  chan chunk      // one value after a dial that worked

	taken bool // dialed was received
	conn  net.Conn
	err   error
}

type dialResult struct {
	conn net.Conn
	err  error
}

func (s *Server) dialEarly(ctx context.Context) *earlyDial {
	dctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	w := &earlyDial{dialed: make(chan dialResult, 1), first: make(chan chunk, 1)}
	go func() {
		conn, err := s.cfg.Dial(dctx, "tcp", s.cfg.Fallback)
		cancel()
		w.dialed <- dialResult{conn, err}
		if err != nil {
			return
		}
		buf := make([]byte, relayBuffer)
		n, err := conn.Read(buf)
		w.first <- chunk{buf[:n], err}
	}()
	return w
}

// take records the dial's result.
func (w *earlyDial) take(r dialResult) {
	w.taken, w.conn, w.err = true, r.conn, r.err
	w.dialed = nil
	if r.err != nil {
		w.first = nil // nothing will come
	}
}

// wait returns the dial's result, waiting for it if needed.
func (w *earlyDial) wait() (net.Conn, error) {
	if !w.taken {
		w.take(<-w.dialed)
	}
	return w.conn, w.err
}

// abandon gives the early connection up unused: the connection the dial
// made (now or when it completes) is reset. The dial is not cancelled: a
// dial cancelled just as its connection is made ends that connection with
// a FIN (net.Dialer closes it), which the fallback would take for a client
// that connected and left; it is left to complete (within the connect
// timeout) and then reset.
func (w *earlyDial) abandon() {
	if w.taken {
		if w.conn != nil {
			resetConn(w.conn)
		}
		return
	}
	ch := w.dialed
	go func() {
		if r := <-ch; r.conn != nil {
			resetConn(r.conn)
		}
	}()
}

// fallback hands the connection to the fallback: fb (dialed early), or a
// connection dialed now when fb is nil. cFirst, if not nil, is the client's
// first read (what it holds goes to the fallback first: every byte received
// so far, in order); fbFirst, if not nil, the fallback's.
func (s *Server) fallback(ctx context.Context, c, fb net.Conn, reason string, cFirst, fbFirst <-chan chunk) {
	peer := c.RemoteAddr().String()
	if fb == nil {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
		conn, err := s.cfg.Dial(dctx, "tcp", s.cfg.Fallback)
		cancel()
		if err != nil {
			s.cfg.Log.Printf("conn %s: fallback (%s) unreachable: %v", peer, reason, err)
			c.Close()
			return
		}
		fb = conn
	}
	up, down, how := relay(c, fb, cFirst, fbFirst)
	s.cfg.Log.Printf("conn %s: fallback (%s): %d bytes to fallback, %d back, %s", peer, reason, up, down, how)
}

const relayBuffer = 32 << 10

// relay copies both ways between the client c and the fallback fb until
// both directions have ended, so that the client's connection ends as it
// would at the fallback directly (SPEC.md 12.1): an end of stream is passed
// on as an end of stream (a FIN, CloseWrite), a reset as a reset
// (SO_LINGER 0, then Close). After the fallback's FIN the client's bytes
// still go to it; a fallback that closed entirely resets the connection at
// the next bytes it receives, and then the client's connection is reset at
// once too (seen from the fallback socket's error, whether or not a write
// of ours runs into it), so the client's next write fails as it would
// directly. It returns the bytes copied each way and how it ended.
func relay(c, fb net.Conn, cFirst, fbFirst <-chan chunk) (up, down int64, how string) {
	r := &relayer{c: c, fb: fb, aborted: make(chan struct{})}
	ended := make(chan struct{}, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.copyDown(fbFirst, ended)
	}()
	go func() {
		defer wg.Done()
		r.copyUp(cFirst, ended)
	}()
	for i := 0; i < 2; i++ {
		select {
		case <-ended:
		case <-r.aborted:
			i = 2
		}
	}
	// Both ended (each end of stream passed on), unless aborted: a reset
	// the fallback sent since is passed on; otherwise both are closed.
	if sockErr(fb) != nil {
		r.abort(true, false, "fallback reset after both ends")
	} else {
		r.abort(false, false, "both ended")
	}
	wg.Wait()
	return r.up.Load(), r.down.Load(), r.how
}

type relayer struct {
	c, fb    net.Conn
	once     sync.Once
	aborted  chan struct{}
	how      string
	up, down atomic.Int64
}

// abort ends both connections once, each with a reset or a plain close.
func (r *relayer) abort(resetClient, resetFallback bool, how string) {
	r.once.Do(func() {
		r.how = how
		if resetClient {
			resetConn(r.c)
		} else {
			r.c.Close()
		}
		if resetFallback {
			resetConn(r.fb)
		} else {
			r.fb.Close()
		}
		close(r.aborted)
	})
}

func (r *relayer) closed() bool {
	select {
	case <-r.aborted:
		return true
	default:
		return false
	}
}

// copyDown copies the fallback's bytes to the client.
func (r *relayer) copyDown(first <-chan chunk, ended chan<- struct{}) {
	buf := make([]byte, relayBuffer)
	var ch chunk
	if first != nil {
		ch = <-first
	} else {
		n, err := r.fb.Read(buf)
		ch = chunk{buf[:n], err}
	}
	for {
		if len(ch.b) > 0 {
			n, err := r.c.Write(ch.b)
			r.down.Add(int64(n))
			if err != nil {
				// The client is gone: a reset is passed on as a reset.
				r.abort(false, isReset(err), "client gone: "+err.Error())
				return
			}
		}
		if ch.err != nil {
			switch {
			case errors.Is(ch.err, io.EOF):
				// The fallback's FIN, passed on as a FIN.
				if err := closeWrite(r.c); err != nil && !r.closed() {
					r.abort(false, true, "client gone: "+err.Error())
					return
				}
				ended <- struct{}{}
				// The fallback may have closed entirely: it then resets
				// the connection at the next bytes it receives. Watch for
				// that, so that the client is reset as it would be.
				if waitReset(r.fb, r.aborted) {
					r.abort(true, false, "fallback reset after its FIN")
				}
			case isReset(ch.err):
				r.abort(true, false, "fallback reset")
			case r.closed():
			default:
				r.abort(false, false, "fallback read: "+ch.err.Error())
			}
			return
		}
		n, err := r.fb.Read(buf)
		ch = chunk{buf[:n], err}
	}
}

// copyUp copies the client's bytes to the fallback. The first read may be
// the one started under the hello wait's deadline, lifted since: a timeout
// there means only that nothing had come.
func (r *relayer) copyUp(first <-chan chunk, ended chan<- struct{}) {
	buf := make([]byte, relayBuffer)
	var ch chunk
	if first != nil {
		ch = <-first
		if isTimeout(ch.err) {
			ch.err = nil
		}
	} else {
		n, err := r.c.Read(buf)
		ch = chunk{buf[:n], err}
	}
	for {
		if len(ch.b) > 0 {
			n, err := r.fb.Write(ch.b)
			r.up.Add(int64(n))
			if err != nil {
				// The fallback reset the connection (after its FIN, say,
				// having closed entirely): the client's is reset too.
				r.abort(isReset(err), false, "fallback write: "+err.Error())
				return
			}
		}
		if ch.err != nil {
			switch {
			case errors.Is(ch.err, io.EOF):
				// The client's FIN, passed on as a FIN.
				if err := closeWrite(r.fb); err != nil && !r.closed() {
					// Only a reset ends our fallback socket under us
					// (shutdown then fails with ENOTCONN): passed on.
					r.abort(true, false, "fallback reset: "+err.Error())
					return
				}
				ended <- struct{}{}
			case isReset(ch.err):
				r.abort(false, true, "client reset")
			case r.closed():
			default:
				r.abort(false, false, "client read: "+ch.err.Error())
			}
			return
		}
		n, err := r.c.Read(buf)
		ch = chunk{buf[:n], err}
	}
}

func closeWrite(c net.Conn) error {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// sockErr returns (and clears) the socket's pending error: after a reset,
// ECONNRESET, or EPIPE when the reset came after the peer's FIN.
func sockErr(c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var v int
	var gerr error
	if rc.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
	}) != nil || gerr != nil || v == 0 {
		return nil
	}
	return syscall.Errno(v)
}

// waitReset waits, after the peer's FIN, until c is reset (true) or until
// the relay is over (false). A socket that has had its FIN reads as ended
// forever, so a read cannot tell; the socket's pending error can. The
// function given to RawConn.Read checks it and reports itself not done
// while there is none, and Go's poller runs it again at the socket's next
// event (a reset is one: EPOLLERR/EPOLLHUP); closing c ends the wait.
func waitReset(c net.Conn, done <-chan struct{}) bool {
	sc, ok := c.(syscall.Conn)
	var rc syscall.RawConn
	var err error
	if ok {
		rc, err = sc.SyscallConn()
	}
	if !ok || err != nil {
		<-done
		return false
	}
	reset := false
	rc.Read(func(fd uintptr) bool {
		v, gerr := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
		if gerr == nil && v != 0 {
			reset = true
			return true
		}
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	return reset
}
