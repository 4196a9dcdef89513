package replay

import (
	"os"
	"path/filepath"
	"testing"

	"reflexport/rerr"
)

func openJ(t *testing.T, dir string, window uint64) (*Journal, []JournalRecord) {
	t.Helper()
	j, recs, err := OpenJournal(dir, window)
	if err != nil {
		t.Fatal(err)
	}
	return j, recs
}

func keysOf(recs []JournalRecord) []int {
	var ks []int
	for _, r := range recs {
		ks = append(ks, int(r.Key[0])|int(r.Key[1])<<8)
	}
	return ks
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// What a filter with a journal accepted is refused by a new filter loaded
// from it (a restart); a fresh hello is accepted.
func TestJournalOutlivesTheFilter(t *testing.T) {
	dir := t.TempDir()
	j, recs := openJ(t, dir, 120)
	if len(recs) != 0 {
		t.Fatalf("new journal holds %d records", len(recs))
	}
	f := New(100, 120)
	f.SetJournal(j)
	for i := 1; i <= 3; i++ {
		if err := f.Check(alice, key(i), 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	// A refused hello is not recorded.
	if err := f.Check(bob, key(1), 1000, 1001); err != rerr.ReplayedHello {
		t.Fatal(err)
	}
	j.Close()

	j, recs = openJ(t, dir, 120)
	defer j.Close()
	if got := keysOf(recs); !sameInts(got, []int{1, 2, 3}) || recs[0].Owner != alice || recs[0].T != 1000 {
		t.Fatalf("read back %v %+v", got, recs)
	}
	g := New(100, 120)
	if loaded, skipped := Load(g, recs, 1010); loaded != 3 || skipped != 0 {
		t.Fatalf("loaded %d, skipped %d", loaded, skipped)
	}
	g.SetJournal(j)
	if err := g.Check(alice, key(2), 1000, 1010); err != rerr.ReplayedHello {
		t.Fatalf("replay after the restart: %v", err)
	}
	if err := g.Check(alice, key(4), 1010, 1010); err != nil {
		t.Fatalf("fresh hello: %v", err)
	}
	// Entries whose T + window has passed are skipped.
	h := New(100, 120)
	if loaded, skipped := Load(h, recs, 1121); loaded != 0 || skipped != 3 {
		t.Fatalf("at T+window+1: loaded %d, skipped %d", loaded, skipped)
	}
}

// A record cut at the end of a file (the process ended inside a write) is
// ignored, and what is written after it starts where it started: nothing
// shifts. A damaged whole record is skipped in its place.
func TestJournalCutAndDamagedRecords(t *testing.T) {
	dir := t.TempDir()
	j, _ := openJ(t, dir, 120)
	for i := 1; i <= 3; i++ {
		if err := j.Record(alice, key(i), 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	path := filepath.Join(dir, JournalFiles[floorDiv(1000, 240)%2])
	fi, err := os.Stat(path)
	if err != nil || fi.Size() != journalHeader+3*journalRecord {
		t.Fatalf("size %v, %v", fi, err)
	}
	for cut := int64(1); cut < journalRecord; cut += 29 {
		if err := os.Truncate(path, journalHeader+3*journalRecord-cut); err != nil {
			t.Fatal(err)
		}
		j, recs := openJ(t, dir, 120)
		if got := keysOf(recs); !sameInts(got, []int{1, 2}) {
			t.Fatalf("cut by %d: read back %v", cut, got)
		}
		if err := j.Record(bob, key(9), 1001, 1001); err != nil {
			t.Fatal(err)
		}
		j.Close()
		j, recs = openJ(t, dir, 120)
		j.Close()
		if got := keysOf(recs); !sameInts(got, []int{1, 2, 9}) || recs[2].Owner != bob || recs[2].T != 1001 {
			t.Fatalf("cut by %d, then one more: read back %v", cut, got)
		}
	}
	// A damaged record (a byte of its key changed) is skipped; the others
	// are read at their places.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[journalHeader+journalRecord+5] ^= 1
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	j, recs := openJ(t, dir, 120)
	j.Close()
	if got := keysOf(recs); !sameInts(got, []int{1, 9}) {
		t.Fatalf("damaged: read back %v", got)
	}
	// A file cut inside its header holds nothing; a file that is not a
	// journal is refused.
	if err := os.WriteFile(path, []byte(journalMagic[:5]), 0o600); err != nil {
		t.Fatal(err)
	}
	j, recs = openJ(t, dir, 120)
	j.Close()
	if len(recs) != 0 {
		t.Fatalf("cut header: %d records", len(recs))
	}
	if err := os.WriteFile(path, []byte("not a journal at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenJournal(dir, 120); err == nil {
		t.Fatal("a file that is not a journal was taken")
	}
}

// Two files written in turn, one per period of 2 x window seconds, each
// emptied when its turn comes again; oldest period first on reading.
func TestJournalRotation(t *testing.T) {
	dir := t.TempDir()
	const w = 10 // period 20 s
	j, _ := openJ(t, dir, w)
	rec := func(k int, now int64) {
		t.Helper()
		if err := j.Record(alice, key(k), now, now); err != nil {
			t.Fatal(err)
		}
	}
	rec(1, 1000) // period 50, file 0
	rec(2, 1019) // period 50
	rec(3, 1021) // period 51, file 1
	j.Close()
	j, recs := openJ(t, dir, w)
	if got := keysOf(recs); !sameInts(got, []int{1, 2, 3}) {
		t.Fatalf("read back %v", got)
	}
	rec(4, 1041) // period 52: file 0's turn again, emptied (1019 + 10 < 1041)
	j.Close()
	j, recs = openJ(t, dir, w)
	if got := keysOf(recs); !sameInts(got, []int{3, 4}) {
		t.Fatalf("after the turn: read back %v", got)
	}
	// The clock goes back to a period whose file still holds an entry that
	// could pass the window: that file is not emptied.
	rec(5, 1025) // period 51: file 1 (its own period), appended
	rec(6, 1001) // period 50: file 0, holding 1041 (1041 + 10 >= 1001): kept
	j.Close()
	j, recs = openJ(t, dir, w)
	j.Close()
	if got := keysOf(recs); len(got) != 4 {
		t.Fatalf("clock back: read back %v, want 4 records", got)
	}
}

// One server per state directory.
func TestJournalLock(t *testing.T) {
	dir := t.TempDir()
	j, _ := openJ(t, dir, 120)
	if j2, _, err := OpenJournal(dir, 120); err == nil {
		j2.Close()
		t.Fatal("a second journal opened the same directory")
	}
	j.Close()
	j, _ = openJ(t, dir, 120)
	j.Close()
}
