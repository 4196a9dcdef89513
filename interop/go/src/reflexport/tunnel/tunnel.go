// Package tunnel is an established Reflex session over a connection
// (SPEC.md section 13): frames both ways, CLOSE and half-close, the
// connect result, and the two-way relay.
package tunnel

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"reflexport/frame"
	"reflexport/rerr"
)

// Session is one established session. Send* may be called from one
// goroutine while Recv is called from another.
type Session struct {
	conn   net.Conn
	reader *frame.Reader

	wmu       sync.Mutex
	sealer    *frame.Sealer
	wbuf      []byte
	sentClose bool
	werr      error

	peerClosed bool
	rerr       error

	Sent, Received atomic.Int64 // application bytes, for logs
}

// New wraps conn, whose hello exchange is done, with the session's codecs.
func New(conn net.Conn, s *frame.Sealer, o *frame.Opener) *Session {
	return NewWithPrefix(conn, s, o, nil)
}

// NewWithPrefix is New for a connection of which prefix was already read
// past the hello (bytes that came with it in the same read): the frames
// are read from prefix first, then from conn.
func NewWithPrefix(conn net.Conn, s *frame.Sealer, o *frame.Opener, prefix []byte) *Session {
	var r io.Reader = conn
	if len(prefix) > 0 {
		r = io.MultiReader(bytes.NewReader(append([]byte(nil), prefix...)), conn)
	}
	return &Session{conn: conn, sealer: s, reader: frame.NewReader(r, o)}
}

// Conn returns the underlying connection.
func (s *Session) Conn() net.Conn { return s.conn }

// send seals and writes one frame; after this side's CLOSE it is refused
// (closed), and write errors are final.
func (s *Session) send(t frame.Type, payload []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.werr != nil {
		return s.werr
	}
	if s.sentClose {
		return rerr.Closed
	}
	w, err := s.sealer.Seal(s.wbuf[:0], t, payload)
	if err != nil {
		s.werr = err
		return err
	}
	s.wbuf = w
	if _, err := s.conn.Write(w); err != nil {
		s.werr = err
		return err
	}
	if t == frame.Close {
		s.sentClose = true
	}
	return nil
}

// SendData sends p as DATA frames of at most frame.MaxPayload bytes each;
// an empty p is one empty DATA frame (the "connected" result).
func (s *Session) SendData(p []byte) error {
	for {
		n := len(p)
		if n > frame.MaxPayload {
			n = frame.MaxPayload
		}
		if err := s.send(frame.Data, p[:n]); err != nil {
			return err
		}
		s.Sent.Add(int64(n))
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
}

// SendFrame sends p as exactly one DATA frame: a datagram of a UDP
// association (SPEC.md 15.2), never split. Above frame.MaxPayload it is
// frame_too_large and nothing is sent; the session stays usable (the
// caller drops that datagram, as the sealer's refusal would otherwise end
// the session).
func (s *Session) SendFrame(p []byte) error {
	if len(p) > frame.MaxPayload {
		return rerr.FrameTooLarge
	}
	if err := s.send(frame.Data, p); err != nil {
		return err
	}
	s.Sent.Add(int64(len(p)))
	return nil
}

// SendClose ends this side's direction; payload is empty, or the one-byte
// reason of a failed connect result.
func (s *Session) SendClose(payload []byte) error { return s.send(frame.Close, payload) }

// Recv returns the next DATA or CLOSE frame; PADDING and TIMING are
// swallowed. A frame after the peer's CLOSE is frame_after_close; the
// stream ending after the peer's CLOSE is io.EOF, before it
// io.ErrUnexpectedEOF (or too_short inside a frame). Errors are final.
// The payload is valid until the next call.
func (s *Session) Recv() (frame.Type, []byte, error) {
	if s.rerr != nil {
		return 0, nil, s.rerr
	}
	for {
		t, p, err := s.reader.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) && !s.peerClosed {
				err = io.ErrUnexpectedEOF
			}
			s.rerr = err
			return 0, nil, err
		}
		if s.peerClosed {
			s.rerr = rerr.FrameAfterClose
			return 0, nil, s.rerr
		}
		switch t {
		case frame.Padding, frame.Timing:
			continue
		case frame.Close:
			s.peerClosed = true
		case frame.Data:
			s.Received.Add(int64(len(p)))
		}
		return t, p, nil
	}
}

// CloseWrite half-closes c if it can, else closes it.
func CloseWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	c.Close()
}

// Relay copies both ways between the session and peer until both
// directions are closed: peer's end of stream becomes CLOSE, the session's
// CLOSE becomes a half-close toward peer. Any error of the session (a bad
// frame, the connection lost) stops all forwarding and closes both sides
// at once. Both connections are closed when Relay returns; the returned
// error is the first failure, nil for a clean end.
func Relay(s *Session, peer net.Conn) error {
	var (
		once     sync.Once
		firstErr error
		errMu    sync.Mutex
		aborted  = make(chan struct{})
		upDone   = make(chan struct{})
		downSeen = make(chan struct{})
		downDone = make(chan struct{})
		ending   atomic.Bool // both directions closed: later errors are ours
	)
	fail := func(err error) {
		if ending.Load() {
			return
		}
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		once.Do(func() {
			close(aborted)
			s.conn.Close()
			peer.Close()
		})
	}
	go func() { // peer -> session
		defer close(upDone)
		buf := make([]byte, frame.MaxPayload)
		for {
			n, err := peer.Read(buf)
			if n > 0 {
				if e := s.SendData(buf[:n]); e != nil {
					fail(e)
					return
				}
			}
			if err != nil {
				if e := s.SendClose(nil); e != nil {
					fail(e)
				}
				return
			}
		}
	}()
	go func() { // session -> peer
		defer close(downDone)
		seen := false
		for {
			t, p, err := s.Recv()
			if err != nil {
				if !(seen && errors.Is(err, io.EOF)) {
					fail(err)
				}
				return
			}
			switch t {
			case frame.Data:
				if _, err := peer.Write(p); err != nil {
					fail(err)
					return
				}
			case frame.Close:
				CloseWrite(peer)
				seen = true
				close(downSeen)
			}
		}
	}()
	select {
	case <-aborted:
	case <-waitBoth(upDone, downSeen, aborted):
		ending.Store(true)
	}
	once.Do(func() {
		s.conn.Close()
		peer.Close()
	})
	<-upDone
	<-downDone
	errMu.Lock()
	defer errMu.Unlock()
	return firstErr
}

// waitBoth is closed once a and b are, or once abort is.
func waitBoth(a, b, abort <-chan struct{}) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		defer close(c)
		for _, ch := range []<-chan struct{}{a, b} {
			select {
			case <-ch:
			case <-abort:
				return
			}
		}
	}()
	return c
}
