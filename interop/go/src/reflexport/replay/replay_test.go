package replay

import (
	"math"
	"testing"

	"reflexport/rerr"
)

func TestWindow(t *testing.T) {
	for _, c := range []struct {
		now, ts int64
		ok      bool
	}{
		{1000, 1000, true}, {1000, 880, true}, {1000, 879, false}, {1000, 1120, true}, {1000, 1121, false},
		{1000, math.MaxInt64, false}, {1000, math.MinInt64, false}, {1000, -1, false},
		{math.MinInt64, math.MaxInt64, false}, {math.MaxInt64, math.MaxInt64 - 120, true},
	} {
		if got := InWindow(c.now, c.ts, 120); got != c.ok {
			t.Errorf("now %d ts %d: got %v", c.now, c.ts, got)
		}
	}
}

func key(i byte) (k [32]byte) { k[0] = i; return }

func TestReplayAndExpiry(t *testing.T) {
	f := New(10, 120)
	if err := f.Check(key(1), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(key(1), 1000, 1001); err != rerr.ReplayedHello {
		t.Fatalf("replay: %v", err)
	}
	// Still remembered at T + window, gone after.
	if err := f.Check(key(1), 1000, 1120); err != rerr.ReplayedHello {
		t.Fatalf("at T+window: %v", err)
	}
	if err := f.Check(key(2), 1001, 1121); err != nil {
		t.Fatal(err)
	}
	if f.Len() != 1 {
		t.Fatalf("len %d", f.Len())
	}
}

func TestCapacityFloor(t *testing.T) {
	f := New(3, 120)
	for i := byte(1); i <= 3; i++ {
		if err := f.Check(key(i), int64(100+i), 110); err != nil {
			t.Fatal(err)
		}
	}
	// Full: the oldest (101) is evicted and the floor rises to 101.
	if err := f.Check(key(4), 110, 110); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(key(1), 101, 110); err != rerr.ReplayedHello {
		t.Fatalf("evicted replay: %v", err)
	}
	if err := f.Check(key(5), 101, 110); err != rerr.ReplayedHello {
		t.Fatalf("at floor: %v", err)
	}
	if f.Len() != 3 {
		t.Fatalf("len %d", f.Len())
	}
}
