// Package replay implements the server's timestamp window (SPEC.md 12.2)
// and replay filter (12.3).
package replay

import (
	"container/heap"
	"sync"

	"reflexport/rerr"
)

// Defaults of section 12.
const (
	DefaultWindow   = 120    // seconds
	DefaultCapacity = 131072 // entries
)

// absDiff returns |a - b| as an unsigned number, without overflow for any
// two int64 values.
func absDiff(a, b int64) uint64 {
	if a >= b {
		return uint64(a) - uint64(b)
	}
	return uint64(b) - uint64(a)
}

// InWindow reports whether a hello stamped t is acceptable at now:
// |now - t| <= window, for any 64-bit t.
func InWindow(now, t int64, window uint64) bool { return absDiff(now, t) <= window }

// expired reports now > t + window, without overflow.
func expired(now, t int64, window uint64) bool { return now > t && absDiff(now, t) > window }

type entry struct {
	t   int64
	key [32]byte
}

type entries []entry

func (e entries) Len() int            { return len(e) }
func (e entries) Less(i, j int) bool  { return e[i].t < e[j].t }
func (e entries) Swap(i, j int)       { e[i], e[j] = e[j], e[i] }
func (e *entries) Push(x interface{}) { *e = append(*e, x.(entry)) }
func (e *entries) Pop() interface{} {
	old := *e
	x := old[len(old)-1]
	*e = old[:len(old)-1]
	return x
}

// Filter remembers the client ephemeral key of every accepted hello for as
// long as a replay of it could pass the window. It is safe for concurrent
// use. Entries leave only by expiry or eviction, both of the oldest entry,
// so a min-heap on the timestamp plus a set is exact.
type Filter struct {
	mu       sync.Mutex
	window   uint64
	capacity int
	set      map[[32]byte]struct{}
	byTime   entries
	floor    int64
	hasFloor bool
}

// New returns a filter of the given capacity (all its memory taken now)
// for the given window in seconds.
func New(capacity int, window uint64) *Filter {
	if capacity < 1 {
		capacity = 1
	}
	return &Filter{
		window:   window,
		capacity: capacity,
		set:      make(map[[32]byte]struct{}, capacity),
		byTime:   make(entries, 0, capacity),
	}
}

// Check refuses a replayed hello (replayed_hello) and otherwise remembers
// key, stamped t, at time now. Call it last, after every other check.
func (f *Filter) Check(key [32]byte, t, now int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(f.byTime) > 0 && expired(now, f.byTime[0].t, f.window) {
		e := heap.Pop(&f.byTime).(entry)
		delete(f.set, e.key)
	}
	if _, seen := f.set[key]; seen {
		return rerr.ReplayedHello
	}
	if f.hasFloor && t <= f.floor {
		return rerr.ReplayedHello
	}
	if len(f.byTime) >= f.capacity {
		e := heap.Pop(&f.byTime).(entry)
		delete(f.set, e.key)
		if !f.hasFloor || e.t > f.floor {
			f.floor, f.hasFloor = e.t, true
		}
		if t <= f.floor {
			// The newcomer is itself at or below the new floor: it could be
			// a replay of the entry just evicted (or of an equal stamp).
			return rerr.ReplayedHello
		}
	}
	f.set[key] = struct{}{}
	heap.Push(&f.byTime, entry{t: t, key: key})
	return nil
}

// Len returns the number of entries held.
func (f *Filter) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.byTime)
}
