// Package rerr defines the stable error names of the Reflex protocol
// (SPEC.md section 7). A Code is a Go error; its string is the stable name.
package rerr

// Code is one of the protocol's error codes.
type Code int

// The codes of SPEC.md section 7.
const (
	TooShort             Code = 1
	TrailingBytes        Code = 2
	BadMagic             Code = 3
	BadLength            Code = 4
	FrameTooLarge        Code = 5
	EmptyPlaintext       Code = 6
	UnknownFrameType     Code = 7
	BadAddressType       Code = 8
	BadDomainLength      Code = 9
	FrameAfterClose      Code = 10
	BadReserved          Code = 11
	BadShape             Code = 12
	AuthFailed           Code = 32
	LowOrderPoint        Code = 33
	UnknownUser          Code = 34
	TimestampOutOfWindow Code = 35
	ReplayedHello        Code = 36
	CounterExhausted     Code = 48
	HandshakeTimeout     Code = 49
	Closed               Code = 50
	BufferTooSmall       Code = 64
	AllocFailed          Code = 65
	InvalidArgument      Code = 66
	CryptoInitFailed     Code = 80
)

var names = map[Code]string{
	TooShort:             "too_short",
	TrailingBytes:        "trailing_bytes",
	BadMagic:             "bad_magic",
	BadLength:            "bad_length",
	FrameTooLarge:        "frame_too_large",
	EmptyPlaintext:       "empty_plaintext",
	UnknownFrameType:     "unknown_frame_type",
	BadAddressType:       "bad_address_type",
	BadDomainLength:      "bad_domain_length",
	FrameAfterClose:      "frame_after_close",
	BadReserved:          "bad_reserved",
	BadShape:             "bad_shape",
	AuthFailed:           "auth_failed",
	LowOrderPoint:        "low_order_point",
	UnknownUser:          "unknown_user",
	TimestampOutOfWindow: "timestamp_out_of_window",
	ReplayedHello:        "replayed_hello",
	CounterExhausted:     "counter_exhausted",
	HandshakeTimeout:     "handshake_timeout",
	Closed:               "closed",
	BufferTooSmall:       "buffer_too_small",
	AllocFailed:          "alloc_failed",
	InvalidArgument:      "invalid_argument",
	CryptoInitFailed:     "crypto_init_failed",
}

// Error returns the stable name of the code.
func (c Code) Error() string {
	if n, ok := names[c]; ok {
		return n
	}
	return "unknown_error"
}

// ByName returns the code with the given stable name.
func ByName(name string) (Code, bool) {
	for c, n := range names {
		if n == name {
			return c, true
		}
	}
	return 0, false
}

// Name returns the stable name of err if it is a Code, "ok" for nil, and
// err.Error() otherwise (a non-protocol error).
func Name(err error) string {
	if err == nil {
		return "ok"
	}
	if c, ok := err.(Code); ok {
		return c.Error()
	}
	return "internal(" + err.Error() + ")"
}
