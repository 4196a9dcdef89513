package replay

import (
	"math"
	"math/rand"
	"sync"
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

func key(i int) (k [32]byte) { k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16); return }

var alice, bob, mallory = Owner{0xaa}, Owner{0xbb}, Owner{0x66}

func TestReplayAndExpiry(t *testing.T) {
	f := New(10, 120)
	if err := f.Check(alice, key(1), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(alice, key(1), 1000, 1001); err != rerr.ReplayedHello {
		t.Fatalf("replay: %v", err)
	}
	// A remembered key is refused whoever presents it.
	if err := f.Check(bob, key(1), 1000, 1001); err != rerr.ReplayedHello {
		t.Fatalf("replay by another user: %v", err)
	}
	// Still remembered at T + window, gone after.
	if err := f.Check(alice, key(1), 1000, 1120); err != rerr.ReplayedHello {
		t.Fatalf("at T+window: %v", err)
	}
	if err := f.Check(alice, key(2), 1001, 1121); err != nil {
		t.Fatal(err)
	}
	if f.Len() != 1 {
		t.Fatalf("len %d", f.Len())
	}
	// Alice's record went with her last entry (she has no floor).
	if n, _, _ := f.Held(alice); n != 1 {
		t.Fatalf("alice holds %d", n)
	}
}

func TestCapacityFloor(t *testing.T) {
	f := New(3, 120)
	for i := 1; i <= 3; i++ {
		if err := f.Check(alice, key(i), int64(100+i), 110); err != nil {
			t.Fatal(err)
		}
	}
	// Full: alice's first entry (101) is forgotten, her floor rises to 101.
	if err := f.Check(alice, key(4), 110, 110); err != nil {
		t.Fatal(err)
	}
	if err := f.Check(alice, key(1), 101, 110); err != rerr.ReplayedHello {
		t.Fatalf("evicted replay: %v", err)
	}
	if err := f.Check(alice, key(5), 101, 110); err != rerr.ReplayedHello {
		t.Fatalf("at floor: %v", err)
	}
	if f.Len() != 3 {
		t.Fatalf("len %d", f.Len())
	}
	// Bob has no floor: the same stamp is his to use.
	if err := f.Check(bob, key(5), 101, 110); err != nil {
		t.Fatalf("bob at alice's floor: %v", err)
	}
}

// One user flooding a small filter with hellos stamped at now + window
// raises its own floor only: another user's hello stamped now - 30 is
// accepted, the flooder's later hellos at or below its floor are refused.
func TestFloodRaisesOnlyTheFloodersFloor(t *testing.T) {
	const window, now = 120, 1000
	f := New(4, window)
	for i := 0; i < 4; i++ {
		if err := f.Check(mallory, key(100+i), now+window, now); err != nil {
			t.Fatalf("flood %d: %v", i, err)
		}
	}
	if err := f.Check(alice, key(1), now-30, now); err != nil {
		t.Fatalf("alice's hello after the flood: %v", err)
	}
	if _, floor, ok := f.Held(mallory); !ok || floor != now+window {
		t.Fatalf("mallory's floor %d %v", floor, ok)
	}
	if _, _, ok := f.Held(alice); ok {
		t.Fatal("alice has a floor")
	}
	// The flooder's own hellos at or below its floor are refused, and
	// evict nothing.
	for i, ts := range []int64{now + window, now, now - 30, now - window} {
		if err := f.Check(mallory, key(200+i), ts, now); err != rerr.ReplayedHello {
			t.Fatalf("mallory at %d: %v", ts, err)
		}
	}
	// Alice keeps going while mallory still holds the most entries: each
	// of her hellos evicts one of mallory's, never one of hers.
	for i := 2; i <= 3; i++ {
		if err := f.Check(alice, key(i), now-30+int64(i), now+1); err != nil {
			t.Fatalf("alice %d: %v", i, err)
		}
	}
	if n, _, ok := f.Held(alice); n != 3 || ok {
		t.Fatalf("alice holds %d, floor %v", n, ok)
	}
	if n, _, _ := f.Held(mallory); n != 1 {
		t.Fatalf("mallory holds %d", n)
	}
	// Now alice holds the most: her first entry (now - 30) goes and her
	// floor rises to its stamp; a replay of it is refused.
	if err := f.Check(bob, key(300), now, now+2); err != nil {
		t.Fatalf("bob: %v", err)
	}
	if n, floor, ok := f.Held(alice); n != 2 || !ok || floor != now-30 {
		t.Fatalf("alice holds %d, floor %d %v", n, floor, ok)
	}
	if err := f.Check(alice, key(1), now-30, now+2); err != rerr.ReplayedHello {
		t.Fatalf("alice's forgotten hello: %v", err)
	}
}

// Of the user holding the most entries, the one accepted first goes (not
// the one with the least timestamp); the newcomer of that user is refused
// when it is at or below the new floor, and not stored.
func TestEvictsTheFirstAccepted(t *testing.T) {
	f := New(3, 120)
	for i, ts := range []int64{1050, 1010, 1030} {
		if err := f.Check(alice, key(i), ts, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Check(alice, key(10), 1040, 1000); err != rerr.ReplayedHello {
		t.Fatalf("newcomer below the new floor: %v", err)
	}
	if n, floor, ok := f.Held(alice); n != 2 || !ok || floor != 1050 {
		t.Fatalf("alice holds %d, floor %d %v", n, floor, ok)
	}
	// The entry stamped 1010 is still remembered.
	if err := f.Check(bob, key(1), 1010, 1000); err != rerr.ReplayedHello {
		t.Fatalf("1010 forgotten: %v", err)
	}
	// One place is free: bob's hello takes it without evicting.
	if err := f.Check(bob, key(11), 990, 1000); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := f.Held(alice); n != 2 {
		t.Fatalf("alice holds %d", n)
	}
}

// model is section 12.3 written out plainly: a slice of entries in the
// order accepted, a map of floors.
type model struct {
	capacity int
	window   uint64
	entries  []mEntry
	floors   map[Owner]int64
}

type mEntry struct {
	key   [32]byte
	t     int64
	owner Owner
}

func (m *model) check(u Owner, k [32]byte, t, now int64) error {
	kept := m.entries[:0]
	for _, e := range m.entries {
		if !expired(now, e.t, m.window) {
			kept = append(kept, e)
		}
	}
	m.entries = kept
	for _, e := range m.entries {
		if e.key == k {
			return rerr.ReplayedHello
		}
	}
	if fl, ok := m.floors[u]; ok && t <= fl {
		return rerr.ReplayedHello
	}
	if len(m.entries) >= m.capacity {
		held := map[Owner]int{}
		for _, e := range m.entries {
			held[e.owner]++
		}
		// The user holding the most; between equals, the one whose first
		// entry was accepted first (the first such in acceptance order).
		best := -1
		for i, e := range m.entries {
			if best < 0 || held[e.owner] > held[m.entries[best].owner] {
				best = i
			}
		}
		v := m.entries[best]
		if fl, ok := m.floors[v.owner]; !ok || v.t > fl {
			m.floors[v.owner] = v.t
		}
		m.entries = append(m.entries[:best:best], m.entries[best+1:]...)
		if fl, ok := m.floors[u]; ok && t <= fl {
			return rerr.ReplayedHello
		}
	}
	m.entries = append(m.entries, mEntry{k, t, u})
	return nil
}

func TestAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		capacity := 1 + rng.Intn(8)
		window := uint64(1 + rng.Intn(30))
		f := New(capacity, window)
		m := &model{capacity: capacity, window: window, floors: map[Owner]int64{}}
		users := 1 + rng.Intn(4)
		now := int64(1000)
		var seen [][32]byte
		for step := 0; step < 400; step++ {
			now += int64(rng.Intn(3))
			u := Owner{byte(rng.Intn(users))}
			var k [32]byte
			if len(seen) > 0 && rng.Intn(4) == 0 {
				k = seen[rng.Intn(len(seen))]
			} else {
				k = key(len(seen) + 1)
				seen = append(seen, k)
			}
			ts := now - int64(window) + rng.Int63n(int64(2*window)+1)
			want := m.check(u, k, ts, now)
			if got := f.Check(u, k, ts, now); got != want {
				t.Fatalf("round %d step %d: user %d key %d ts %d now %d: got %v, want %v",
					round, step, u[0], k[0], ts, now, got, want)
			}
			if f.Len() != len(m.entries) {
				t.Fatalf("round %d step %d: len %d, want %d", round, step, f.Len(), len(m.entries))
			}
		}
	}
}

// Records of users with no entry and no floor that matters are dropped:
// many users passing through do not grow the filter.
func TestUserRecordsBounded(t *testing.T) {
	f := New(4, 10)
	now := int64(1000)
	for i := 0; i < 10000; i++ {
		now++
		if err := f.Check(Owner{byte(i), byte(i >> 8)}, key(i), now, now); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	n := len(f.users)
	f.mu.Unlock()
	if n > 64 {
		t.Fatalf("%d user records", n)
	}
}

func TestConcurrent(t *testing.T) {
	const capacity = 64
	f := New(capacity, 120)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				// Shared keys (some replays), owners and stamps in turn.
				_ = f.Check(Owner{byte(g % 3)}, key(i+g*500), 1000+int64(i%50), 1000)
				if n := f.Len(); n > capacity {
					t.Errorf("len %d", n)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	if n := f.Len(); n == 0 || n > capacity {
		t.Fatalf("len %d", n)
	}
}
