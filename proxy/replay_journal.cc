#include "proxy/replay_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "proxy/log.h"

namespace reflex::proxy {
namespace {

constexpr char kMagic[8] = {'R', 'F', 'X', 'R', 'E', 'P', 'L', '1'};

void PutU64(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint64_t GetU64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

std::error_code LastError() { return std::error_code(errno, std::system_category()); }

// The whole file (it is at most a period's accepted hellos).
bool ReadAll(int fd, std::vector<uint8_t>* out) {
  out->clear();
  if (lseek(fd, 0, SEEK_SET) < 0) return false;
  uint8_t chunk[64 * 1024];
  while (true) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->insert(out->end(), chunk, chunk + n);
  }
}

int64_t PeriodOf(int64_t unix_seconds, int64_t period_seconds) {
  return unix_seconds >= 0 ? unix_seconds / period_seconds : 0;
}

}  // namespace

std::error_code FileReplayJournal::Open(const std::string& directory, int64_t window_seconds,
                                        const Clock& clock, ReplayFilter& filter,
                                        std::unique_ptr<FileReplayJournal>* out, size_t* restored) {
  std::unique_ptr<FileReplayJournal> journal(new FileReplayJournal(2 * window_seconds, clock));
  *restored = 0;
  const int64_t now = clock.UnixSeconds();
  std::vector<uint8_t> bytes;
  for (size_t i = 0; i < 2; ++i) {
    const std::string path = directory + "/replay-" + std::to_string(i);
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return LastError();
    journal->fds_[i] = fd;
    // One server per journal: two would empty each other's files.
    if (i == 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
      return errno == EWOULDBLOCK ? std::make_error_code(std::errc::device_or_resource_busy) : LastError();
    }
    if (!ReadAll(fd, &bytes)) return LastError();
    // A file that is empty, foreign or cut inside its header holds nothing.
    if (bytes.size() < kJournalHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
      continue;
    }
    journal->periods_[i] = static_cast<int64_t>(GetU64(bytes.data() + sizeof kMagic));
    // Whole records only: a crash may have cut the last one, which is cut
    // off before anything is appended after it.
    size_t at = kJournalHeaderBytes;
    for (; at + kJournalRecordBytes <= bytes.size(); at += kJournalRecordBytes) {
      const std::span<const uint8_t, kPublicKeyBytes> key(bytes.data() + at, kPublicKeyBytes);
      const uint8_t* rest = bytes.data() + at + kPublicKeyBytes;
      const int64_t timestamp = static_cast<int64_t>(GetU64(rest));
      filter.Restore(key, timestamp, now, GetU64(rest + 8));
      journal->newest_[i] = std::max(journal->newest_[i], timestamp);
      ++*restored;
    }
    if (at != bytes.size() && ftruncate(fd, static_cast<off_t>(at)) != 0) return LastError();
  }
  if (!journal->UsePeriod(PeriodOf(now, journal->period_seconds_), now)) return LastError();
  filter.SetJournal(journal.get());
  *out = std::move(journal);
  return {};
}

FileReplayJournal::~FileReplayJournal() {
  for (const int fd : fds_) {
    if (fd >= 0) close(fd);
  }
}

bool FileReplayJournal::UsePeriod(int64_t period, int64_t now) {
  const size_t i = static_cast<size_t>(period % 2);
  // A file is emptied only when nothing in it can pass the window any more
  // (a clock set back, or a window made longer since, would otherwise lose
  // hellos that can still be replayed); until then it is added to.
  const int64_t window = period_seconds_ / 2;
  const bool live = newest_[i] != INT64_MIN &&
                    static_cast<__int128>(newest_[i]) + window >= static_cast<__int128>(now);
  if (periods_[i] != period && !live) {
    uint8_t header[kJournalHeaderBytes];
    std::memcpy(header, kMagic, sizeof kMagic);
    PutU64(header + sizeof kMagic, static_cast<uint64_t>(period));
    if (ftruncate(fds_[i], 0) != 0 ||
        write(fds_[i], header, sizeof header) != static_cast<ssize_t>(sizeof header)) {
      return false;
    }
    stuck_[i] = false;
    newest_[i] = INT64_MIN;
  }
  periods_[i] = period;
  current_ = period;
  return true;
}

void FileReplayJournal::Record(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp,
                               uint64_t owner) {
  const int64_t now = clock_.UnixSeconds();
  const int64_t period = PeriodOf(now, period_seconds_);
  bool ok = (period == current_ || UsePeriod(period, now)) && !stuck_[static_cast<size_t>(current_ % 2)];
  if (ok) {
    uint8_t record[kJournalRecordBytes];
    std::memcpy(record, key.data(), kPublicKeyBytes);
    PutU64(record + kPublicKeyBytes, static_cast<uint64_t>(timestamp));
    PutU64(record + kPublicKeyBytes + 8, owner);
    const int fd = fds_[static_cast<size_t>(current_ % 2)];
    const ssize_t n = write(fd, record, sizeof record);
    ok = n == static_cast<ssize_t>(sizeof record);
    if (ok) newest_[static_cast<size_t>(current_ % 2)] = std::max(newest_[static_cast<size_t>(current_ % 2)], timestamp);
    // A cut record (a full disk) would shift every later one: cut it off,
    // or, failing that, write no more to this file.
    if (n > 0 && !ok) {
      const off_t end = lseek(fd, 0, SEEK_END);
      if (end < n || ftruncate(fd, end - n) != 0) stuck_[static_cast<size_t>(current_ % 2)] = true;
    }
  }
  if (!ok && !warned_) {
    warned_ = true;  // once: the filter itself still works in memory
    REFLEX_LOG(kWarn,
               "replay journal: cannot write (%s); hellos accepted now would pass again after a restart",
               std::strerror(errno));
  }
}

}  // namespace reflex::proxy
