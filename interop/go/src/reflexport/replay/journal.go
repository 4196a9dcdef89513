package replay

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
)

// The journal of accepted hellos (SPEC.md 12.3, last paragraph): the
// replay filter outlives the process. Each accepted hello's key, timestamp
// and owner are appended to a file before the server hello is sent, and a
// server starting again reads them back into its filter, skipping entries
// whose T + window has passed. The journal is two files written in turn,
// one per period of 2 x window seconds, each emptied when its turn comes
// again (by then nothing in it can pass the window).
//
// The format is this port's own. Each file is a 16-byte header, then
// records of 60 bytes back to back:
//
//	header = "RFXJRNL" 01 (8 bytes) || period (i64 big-endian: the index
//	         floor(now / (2 x window)) of the period the file was started in)
//	record = key (32) || T (i64 big-endian) || owner (16)
//	         || CRC-32C of those 56 bytes (u32 big-endian)
//
// Records sit at fixed offsets (16 + 60 i). A cut trailing record (the
// process ended, or the disk filled, inside a write) is ignored on reading,
// and the file is cut back to its last whole record before anything more
// is written, so a cut record never shifts the ones after it. A whole
// record whose checksum does not match is skipped (its place is kept).
// A file shorter than its header (cut while being started) holds nothing.
//
// Records are written with write(2) before the server hello is sent: they
// survive the process ending (a crash, a kill, a restart); they are not
// synced to the disk per hello, so a power loss may lose the last ones.

const (
	journalMagic  = "RFXJRNL\x01"
	journalHeader = 16
	journalRecord = 60
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// JournalRecord is one accepted hello read back from a journal.
type JournalRecord struct {
	Key   [32]byte
	T     int64
	Owner Owner
}

type journalFile struct {
	f          *os.File
	path       string
	hasHeader  bool
	period     int64
	size       int64 // where the next record goes: header + whole records
	hasEntries bool
	maxT       int64 // the greatest T in the file, if hasEntries
}

// Journal appends accepted hellos to two files in a state directory. It is
// safe for concurrent use (the filter calls it under its own lock).
type Journal struct {
	mu     sync.Mutex
	window uint64
	period int64 // 2 x window seconds
	files  [2]*journalFile
	lock   *os.File
	closed bool
}

// JournalFiles are the names of the two files in a state directory.
var JournalFiles = [2]string{"replay-0.journal", "replay-1.journal"}

// OpenJournal opens (creating it and the directory if needed) the journal
// in dir for the given window, takes the directory's lock (one server per
// directory), and returns the records it holds, oldest period first and in
// the order they were written within a file. Expired records are returned
// too; Load skips them.
func OpenJournal(dir string, window uint64) (*Journal, []JournalRecord, error) {
	if window == 0 {
		window = DefaultWindow
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, nil, fmt.Errorf("state directory %s is in use by another server: %v", dir, err)
	}
	j := &Journal{window: window, lock: lock, period: math.MaxInt64}
	if window <= math.MaxInt64/2 {
		j.period = int64(2 * window)
	}
	type fileRecords struct {
		jf   *journalFile
		recs []JournalRecord
	}
	var all []fileRecords
	for i, name := range JournalFiles {
		jf, recs, err := openJournalFile(filepath.Join(dir, name))
		if err != nil {
			j.closeFiles()
			return nil, nil, err
		}
		j.files[i] = jf
		if jf.hasHeader {
			all = append(all, fileRecords{jf, recs})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].jf.period < all[b].jf.period })
	var recs []JournalRecord
	for _, fr := range all {
		recs = append(recs, fr.recs...)
	}
	return j, recs, nil
}

// openJournalFile reads one file and cuts it back to its last whole record.
func openJournalFile(path string) (*journalFile, []JournalRecord, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	jf := &journalFile{f: f, path: path}
	if len(data) < journalHeader {
		// Empty, or a header cut while the file was being started: it
		// holds nothing. It must still be a prefix of a header of ours.
		n := len(data)
		if n > len(journalMagic) {
			n = len(journalMagic)
		}
		if string(data[:n]) != journalMagic[:n] {
			f.Close()
			return nil, nil, fmt.Errorf("%s is not a replay journal", path)
		}
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, nil, err
		}
		return jf, nil, nil
	}
	if string(data[:len(journalMagic)]) != journalMagic {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a replay journal", path)
	}
	jf.hasHeader = true
	jf.period = int64(binary.BigEndian.Uint64(data[8:16]))
	whole := (len(data) - journalHeader) / journalRecord
	var recs []JournalRecord
	for i := 0; i < whole; i++ {
		r := data[journalHeader+i*journalRecord : journalHeader+(i+1)*journalRecord]
		if crc32.Checksum(r[:56], crcTable) != binary.BigEndian.Uint32(r[56:60]) {
			continue // a damaged record: skipped, its place kept
		}
		var rec JournalRecord
		copy(rec.Key[:], r[0:32])
		rec.T = int64(binary.BigEndian.Uint64(r[32:40]))
		copy(rec.Owner[:], r[40:56])
		recs = append(recs, rec)
		if !jf.hasEntries || rec.T > jf.maxT {
			jf.maxT, jf.hasEntries = rec.T, true
		}
	}
	jf.size = int64(journalHeader + whole*journalRecord)
	if int64(len(data)) != jf.size {
		// A cut trailing record: cut it off, so the next record starts at
		// its place and nothing after it shifts.
		if err := f.Truncate(jf.size); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	return jf, recs, nil
}

// Load puts the records whose T + window has not passed at now into f, in
// the order given (the order they were accepted in), as the filter would
// have taken them. It returns how many were loaded and how many skipped
// (expired, or already present).
func Load(f *Filter, recs []JournalRecord, now int64) (loaded, skipped int) {
	for _, r := range recs {
		if expired(now, r.T, f.window) {
			skipped++
			continue
		}
		if f.Check(r.Owner, r.Key, r.T, now) != nil {
			skipped++
			continue
		}
		loaded++
	}
	return
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Record appends (key, t, owner), accepted at now, to the file of now's
// period, starting that file (emptying it) when its turn has come.
func (j *Journal) Record(owner Owner, key [32]byte, t, now int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("replay journal closed")
	}
	k := floorDiv(now, j.period)
	jf, err := j.fileFor(k, now)
	if err != nil {
		return err
	}
	var rec [journalRecord]byte
	copy(rec[0:32], key[:])
	binary.BigEndian.PutUint64(rec[32:40], uint64(t))
	copy(rec[40:56], owner[:])
	binary.BigEndian.PutUint32(rec[56:60], crc32.Checksum(rec[:56], crcTable))
	// At the file's own offset, not O_APPEND: after a failed (possibly
	// partial) write the next record overwrites the cut one.
	if _, err := jf.f.WriteAt(rec[:], jf.size); err != nil {
		return fmt.Errorf("replay journal %s: %v", jf.path, err)
	}
	jf.size += journalRecord
	if !jf.hasEntries || t > jf.maxT {
		jf.maxT, jf.hasEntries = t, true
	}
	return nil
}

// fileFor returns the file of period k, starting it if its turn has come.
func (j *Journal) fileFor(k, now int64) (*journalFile, error) {
	for _, jf := range j.files {
		if jf.hasHeader && jf.period == k {
			return jf, nil
		}
	}
	jf := j.files[((k%2)+2)%2]
	var hdr [journalHeader]byte
	copy(hdr[:], journalMagic)
	binary.BigEndian.PutUint64(hdr[8:], uint64(k))
	if jf.hasEntries && !expired(now, jf.maxT, j.window) {
		// Its turn has come but an entry in it could still pass the
		// window (the clock went back, or the window was made longer since
		// it was written): keep its records, only mark the new period.
		if _, err := jf.f.WriteAt(hdr[:], 0); err != nil {
			return nil, fmt.Errorf("replay journal %s: %v", jf.path, err)
		}
		jf.period = k
		return jf, nil
	}
	// Emptied, then started afresh. A header cut by a crash here leaves a
	// file shorter than a header: read back as empty.
	if err := jf.f.Truncate(0); err != nil {
		return nil, fmt.Errorf("replay journal %s: %v", jf.path, err)
	}
	jf.hasHeader, jf.hasEntries, jf.size = false, false, 0
	if _, err := jf.f.WriteAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("replay journal %s: %v", jf.path, err)
	}
	jf.hasHeader, jf.period, jf.size = true, k, journalHeader
	return jf, nil
}

func (j *Journal) closeFiles() {
	for _, jf := range j.files {
		if jf != nil {
			jf.f.Close()
		}
	}
	j.lock.Close() // releases the flock
}

// Close closes the files and releases the directory.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	j.closeFiles()
	return nil
}
