package frame

import (
	"encoding/binary"
	"errors"
	"io"

	"reflexport/rerr"
)

// Decoder is a push-style stream decoder (section 5.6): fed chunks of any
// size, it yields every frame once its last byte has arrived, refuses a bad
// length field as soon as its 2 bytes are in, holds at most one frame, and
// yields nothing after an error.
type Decoder struct {
	op   *Opener
	buf  [MaxWire]byte
	n    int // bytes of the current frame held
	need int // total size of the current frame, once its length is known
	err  error
	out  []byte
}

// NewDecoder returns a decoder that opens frames with op.
func NewDecoder(op *Opener) *Decoder { return &Decoder{op: op} }

// Err returns the decoder's final error, if any.
func (d *Decoder) Err() error { return d.err }

// Write feeds p. emit is called for every frame completed; its payload is
// only valid during the call. An error from emit stops the decoder and is
// returned (and kept as the decoder's final error).
func (d *Decoder) Write(p []byte, emit func(Type, []byte) error) error {
	if d.err != nil {
		return d.err
	}
	for len(p) > 0 {
		if d.n < LengthSize {
			c := copy(d.buf[d.n:LengthSize], p)
			d.n += c
			p = p[c:]
			if d.n < LengthSize {
				break
			}
			length := int(binary.BigEndian.Uint16(d.buf[:2]))
			if err := CheckLength(length); err != nil {
				return d.fail(err)
			}
			d.need = LengthSize + length
		}
		c := copy(d.buf[d.n:d.need], p)
		d.n += c
		p = p[c:]
		if d.n < d.need {
			break
		}
		t, payload, err := d.op.Open(d.out[:0], d.buf[:d.need])
		d.n, d.need = 0, 0
		if err != nil {
			return d.fail(err)
		}
		d.out = payload
		err = emit(t, payload)
		wipe(payload)
		if err != nil {
			return d.fail(err)
		}
	}
	return nil
}

// End reports the end of the stream: ending inside a frame (length field
// included) is too_short.
func (d *Decoder) End() error {
	if d.err != nil {
		return d.err
	}
	if d.n > 0 {
		return d.fail(rerr.TooShort)
	}
	return nil
}

func (d *Decoder) fail(err error) error {
	d.err = err
	d.n, d.need = 0, 0
	wipe(d.buf[:])
	return err
}

// Reader is a pull-style stream decoder over an io.Reader, for sockets.
type Reader struct {
	r   io.Reader
	op  *Opener
	buf [MaxWire]byte
	err error
}

// NewReader returns a Reader reading frames from r, opened with op.
func NewReader(r io.Reader, op *Opener) *Reader { return &Reader{r: r, op: op} }

// ReadFrame returns the next frame. The payload is valid until the next
// call. A stream ending cleanly between frames is io.EOF; inside a frame it
// is too_short. Any other error is final.
func (fr *Reader) ReadFrame() (Type, []byte, error) {
	if fr.err != nil {
		return 0, nil, fr.err
	}
	t, p, err := fr.read()
	if err != nil {
		fr.err = err
	}
	return t, p, err
}

func (fr *Reader) read() (Type, []byte, error) {
	if _, err := io.ReadFull(fr.r, fr.buf[:LengthSize]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, rerr.TooShort
		}
		return 0, nil, err // io.EOF at a frame boundary, or a socket error
	}
	length := int(binary.BigEndian.Uint16(fr.buf[:2]))
	if err := CheckLength(length); err != nil {
		return 0, nil, err
	}
	if _, err := io.ReadFull(fr.r, fr.buf[LengthSize:LengthSize+length]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, rerr.TooShort
		}
		return 0, nil, err
	}
	return fr.op.Open(fr.buf[LengthSize:LengthSize], fr.buf[:LengthSize+length])
}
