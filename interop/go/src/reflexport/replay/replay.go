// Package replay implements the server's timestamp window (SPEC.md 12.2)
// and replay filter (12.3).
package replay

import (
	"container/heap"
	"math"
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

// Owner is the user a hello belongs to: its 16-byte user id (v1: the id in
// the hello; v2: the user whose PSK verified).
type Owner = [16]byte

const none = -1

// slot is one entry of the filter, (K, T, U), in a table allocated at
// start. A slot in use is in the key set, in the time heap and in its
// owner's list (in the order the entries were accepted).
type slot struct {
	key        [32]byte
	t          int64
	seq        uint64 // acceptance order, over the whole filter
	owner      *user
	timePos    int   // index in Filter.byTime
	prev, next int32 // the owner's list; none at either end
}

// user is the per-user record: its entries in the order accepted, their
// number, its floor, and its place in the heap of users by entries held.
type user struct {
	id         Owner
	head, tail int32 // the entry accepted first, and last
	count      int
	floor      int64
	hasFloor   bool // no floor: below every timestamp
	countPos   int  // index in Filter.byCount; none when count == 0
}

// Filter remembers the client ephemeral key of every accepted hello, with
// its timestamp and owner, for as long as a replay of it could pass the
// window (SPEC.md 12.3). It is safe for concurrent use, and bounded: its
// entries are a table of capacity slots taken at start, plus one small
// record per user that holds entries or a floor that can still matter.
type Filter struct {
	mu       sync.Mutex
	window   uint64
	capacity int
	slots    []slot
	free     []int32 // slots not in use
	set      map[[32]byte]int32
	byTime   timeHeap  // every entry, least timestamp first: expiry
	byCount  countHeap // users holding entries, most entries first: eviction
	users    map[Owner]*user
	seq      uint64
	sweepAt  int      // sweep idle user records when there are this many
	journal  Recorder // nil: the filter lives only as long as the process
}

// Recorder records an accepted hello so that the filter outlives the
// process (SPEC.md 12.3): a Journal.
type Recorder interface {
	Record(owner Owner, key [32]byte, t, now int64) error
}

// SetJournal makes the filter record every hello it accepts from now on
// with r, before Check returns (so before the server hello is sent). Call
// it before the filter is shared, after Load.
func (f *Filter) SetJournal(r Recorder) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.journal = r
}

// New returns a filter of the given capacity (all its memory taken now)
// for the given window in seconds.
func New(capacity int, window uint64) *Filter {
	if capacity < 1 {
		capacity = 1
	}
	if capacity > math.MaxInt32 { // slots are numbered by int32
		capacity = math.MaxInt32
	}
	f := &Filter{
		window:   window,
		capacity: capacity,
		slots:    make([]slot, capacity),
		free:     make([]int32, capacity),
		set:      make(map[[32]byte]int32, capacity),
		users:    map[Owner]*user{},
		sweepAt:  64,
	}
	for i := range f.free {
		f.free[i] = int32(capacity - 1 - i)
	}
	f.byTime = timeHeap{f: f, idx: make([]int32, 0, capacity)}
	f.byCount = countHeap{f: f}
	return f
}

// Check decides a hello of user owner with client ephemeral key stamped
// t, at time now (SPEC.md 12.3): it refuses a replay (replayed_hello) and
// otherwise remembers (key, t, owner). Call it after the timestamp window
// and before any key work (section 12.1).
func (f *Filter) Check(owner Owner, key [32]byte, t, now int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	// 1. Every entry with T_e + window < now is forgotten.
	for f.byTime.Len() > 0 && expired(now, f.slots[f.byTime.idx[0]].t, f.window) {
		f.remove(f.byTime.idx[0], now)
	}
	// 2. A key remembered, whoever owns it.
	if _, seen := f.set[key]; seen {
		return rerr.ReplayedHello
	}
	// 3. At or below the user's own floor.
	u := f.users[owner]
	if u != nil && u.hasFloor && t <= u.floor {
		return rerr.ReplayedHello
	}
	// 4. Full: the user holding the most entries loses the entry it had
	// accepted first, and its floor rises to that entry's timestamp.
	if len(f.set) >= f.capacity {
		v := f.byCount.users[0]
		s := v.head
		tv := f.slots[s].t
		if !v.hasFloor || tv > v.floor {
			v.floor, v.hasFloor = tv, true
		}
		f.remove(s, now)
		if u != nil && u.hasFloor && t <= u.floor {
			// The newcomer is at or below its user's new floor: it could
			// replay the entry just forgotten. It is not stored.
			return rerr.ReplayedHello
		}
	}
	// 5. (K, T, U) is remembered: first in the journal, if there is one.
	// A hello that cannot be recorded is not accepted (after a restart it
	// could be replayed); the error is not a protocol code.
	if f.journal != nil {
		if err := f.journal.Record(owner, key, t, now); err != nil {
			return err
		}
	}
	if u == nil {
		u = &user{id: owner, head: none, tail: none, countPos: none}
		f.users[owner] = u
	}
	s := f.free[len(f.free)-1]
	f.free = f.free[:len(f.free)-1]
	e := &f.slots[s]
	f.seq++
	*e = slot{key: key, t: t, seq: f.seq, owner: u, prev: u.tail, next: none}
	if u.tail != none {
		f.slots[u.tail].next = s
	} else {
		u.head = s
	}
	u.tail = s
	u.count++
	f.set[key] = s
	heap.Push(&f.byTime, s)
	if u.countPos == none {
		heap.Push(&f.byCount, u)
	} else {
		heap.Fix(&f.byCount, u.countPos)
	}
	if len(f.users) >= f.sweepAt {
		f.sweep(now)
	}
	return nil
}

// remove forgets the entry in slot s (expired or evicted).
func (f *Filter) remove(s int32, now int64) {
	e := &f.slots[s]
	u := e.owner
	delete(f.set, e.key)
	heap.Remove(&f.byTime, e.timePos)
	if e.prev != none {
		f.slots[e.prev].next = e.next
	} else {
		u.head = e.next
	}
	if e.next != none {
		f.slots[e.next].prev = e.prev
	} else {
		u.tail = e.prev
	}
	u.count--
	if u.count == 0 {
		heap.Remove(&f.byCount, u.countPos)
		u.countPos = none
		if !f.floorMatters(u, now) {
			delete(f.users, u.id)
		}
	} else {
		heap.Fix(&f.byCount, u.countPos)
	}
	*e = slot{}
	f.free = append(f.free, s)
}

// floorMatters reports whether u's floor can still refuse a hello that
// passes the window at now or later: a floor F refuses only T <= F, and
// once now > F + window no such T is in the window.
func (f *Filter) floorMatters(u *user, now int64) bool {
	return u.hasFloor && !expired(now, u.floor, f.window)
}

// sweep drops the records of users that hold no entry and whose floor no
// longer matters, and sets the next sweep at twice what remains (amortized
// constant time per hello; users with entries number at most capacity).
func (f *Filter) sweep(now int64) {
	for id, u := range f.users {
		if u.count == 0 && !f.floorMatters(u, now) {
			delete(f.users, id)
		}
	}
	f.sweepAt = 2 * len(f.users)
	if f.sweepAt < 64 {
		f.sweepAt = 64
	}
}

// Len returns the number of entries held.
func (f *Filter) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.set)
}

// Held returns the number of entries owner holds and its floor (ok false:
// no floor yet).
func (f *Filter) Held(owner Owner) (count int, floor int64, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.users[owner]; u != nil {
		return u.count, u.floor, u.hasFloor
	}
	return 0, 0, false
}

// timeHeap holds every entry's slot, least timestamp first.
type timeHeap struct {
	f   *Filter
	idx []int32
}

func (h *timeHeap) Len() int { return len(h.idx) }
func (h *timeHeap) Less(i, j int) bool {
	return h.f.slots[h.idx[i]].t < h.f.slots[h.idx[j]].t
}
func (h *timeHeap) Swap(i, j int) {
	h.idx[i], h.idx[j] = h.idx[j], h.idx[i]
	h.f.slots[h.idx[i]].timePos = i
	h.f.slots[h.idx[j]].timePos = j
}
func (h *timeHeap) Push(x interface{}) {
	s := x.(int32)
	h.f.slots[s].timePos = len(h.idx)
	h.idx = append(h.idx, s)
}
func (h *timeHeap) Pop() interface{} {
	s := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return s
}

// countHeap holds the users that hold entries: the most entries first and,
// between users holding as many, the one whose first entry was accepted
// earlier (SPEC.md does not say; this keeps eviction first-in first-out
// when every user holds as many).
type countHeap struct {
	f     *Filter
	users []*user
}

func (h *countHeap) Len() int { return len(h.users) }
func (h *countHeap) Less(i, j int) bool {
	a, b := h.users[i], h.users[j]
	if a.count != b.count {
		return a.count > b.count
	}
	return h.f.slots[a.head].seq < h.f.slots[b.head].seq
}
func (h *countHeap) Swap(i, j int) {
	h.users[i], h.users[j] = h.users[j], h.users[i]
	h.users[i].countPos = i
	h.users[j].countPos = j
}
func (h *countHeap) Push(x interface{}) {
	u := x.(*user)
	u.countPos = len(h.users)
	h.users = append(h.users, u)
}
func (h *countHeap) Pop() interface{} {
	u := h.users[len(h.users)-1]
	h.users[len(h.users)-1] = nil
	h.users = h.users[:len(h.users)-1]
	return u
}
