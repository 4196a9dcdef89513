// Go's golang.org/x/crypto ChaCha20-Poly1305, measured the way
// bench/codec_bench measures ours, so both land in one table (run.sh):
//   BM_GoRawAead/N                 seal then open (1 + N) bytes in place
//   BM_GoRawLifecycle100Frames/A   a fresh key, then 100 frames of 4 KiB
//                                  sealed and opened (A=1: a new random
//                                  payload per frame, from crypto/rand)
// Prints one line per benchmark: "<name> <nanoseconds per op>".
package main

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

func nonce(counter uint64) []byte {
	n := make([]byte, chacha20poly1305.NonceSize)
	binary.LittleEndian.PutUint64(n, counter)
	return n
}

func rawAead(size int) func(b *testing.B) {
	return func(b *testing.B) {
		key := make([]byte, chacha20poly1305.KeySize)
		rand.Read(key)
		aead, err := chacha20poly1305.New(key)
		if err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1+size, 1+size+aead.Overhead())
		n := nonce(0)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			binary.LittleEndian.PutUint64(n, uint64(i+1))
			sealed := aead.Seal(buf[:0], n, buf, nil)
			opened, err := aead.Open(sealed[:0], n, sealed, nil)
			if err != nil || len(opened) != 1+size {
				b.Fatal("open failed")
			}
		}
	}
}

func rawLifecycle(freshPayload bool) func(b *testing.B) {
	return func(b *testing.B) {
		const frames, payload = 100, 4096
		data := make([]byte, payload)
		rand.Read(data)
		wire := make([]byte, 0, 1+payload+16)
		plain := make([]byte, 0, 1+payload)
		key := make([]byte, chacha20poly1305.KeySize)
		n := nonce(0)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rand.Read(key)
			aead, err := chacha20poly1305.New(key)
			if err != nil {
				b.Fatal(err)
			}
			for f := 0; f < frames; f++ {
				if freshPayload {
					rand.Read(data)
				}
				binary.LittleEndian.PutUint64(n, uint64(f+1))
				msg := append(append(wire[:0], 1), data...)
				sealed := aead.Seal(msg[:0], n, msg, nil)
				if _, err := aead.Open(plain[:0], n, sealed, nil); err != nil {
					b.Fatal("open failed")
				}
			}
		}
	}
}

// median of three runs, so one noisy run does not decide.
func median(f func(b *testing.B)) float64 {
	var v [3]float64
	for i := range v {
		r := testing.Benchmark(f)
		v[i] = float64(r.T.Nanoseconds()) / float64(r.N)
	}
	if v[0] > v[1] {
		v[0], v[1] = v[1], v[0]
	}
	if v[1] > v[2] {
		v[1], v[2] = v[2], v[1]
	}
	if v[0] > v[1] {
		v[0], v[1] = v[1], v[0]
	}
	return v[1]
}

func main() {
	for _, size := range []int{64, 1400, 4096, 16384} {
		fmt.Printf("BM_GoRawAead/%d %.2f\n", size, median(rawAead(size)))
	}
	fmt.Printf("BM_GoRawLifecycle100Frames/0 %.2f\n", median(rawLifecycle(false)))
	fmt.Printf("BM_GoRawLifecycle100Frames/1 %.2f\n", median(rawLifecycle(true)))
	os.Stdout.Sync()
}
