// The replay filter's journal on disk (--state-dir), so that a hello
// recorded before a restart, a clean one or a crash, is refused after it.
//
// Two files, replay-0 and replay-1, written in turn: each holds the hellos
// accepted during one period of 2 x window seconds (file = period % 2),
// behind a header naming its period. When a file's turn comes again it is
// emptied first: by then nothing in it can pass the timestamp window (a
// hello stamped T, at most `window` ahead of the clock when accepted, is
// refused from T + window on). Each record is the client's ephemeral key
// (32 bytes), the timestamp and the entry's owner (8 each, little-endian),
// appended with one write(): it survives the process being killed (the kernel holds it),
// not the machine losing power.
#ifndef REFLEX_PROXY_REPLAY_JOURNAL_H_
#define REFLEX_PROXY_REPLAY_JOURNAL_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "reflex/replay_filter.h"
#include "reflex/session_types.h"
#include "reflex/wire.h"

namespace reflex::proxy {

inline constexpr size_t kJournalHeaderBytes = 16;  // "RFXREPL1" + the period (u64 LE)
inline constexpr size_t kJournalRecordBytes = kPublicKeyBytes + 8 + 8;

class FileReplayJournal final : public ReplayJournal {
 public:
  // Opens (creating) the two files in `directory`, restores into `filter`
  // every record that can still be replayed, and attaches itself to it.
  // *restored: how many records were read back.
  static std::error_code Open(const std::string& directory, int64_t window_seconds, const Clock& clock,
                              ReplayFilter& filter, std::unique_ptr<FileReplayJournal>* out,
                              size_t* restored);
  ~FileReplayJournal() override;
  FileReplayJournal(const FileReplayJournal&) = delete;
  FileReplayJournal& operator=(const FileReplayJournal&) = delete;

  void Record(std::span<const uint8_t, kPublicKeyBytes> key, int64_t timestamp, uint64_t owner) override;

 private:
  FileReplayJournal(int64_t period_seconds, const Clock& clock)
      : period_seconds_(period_seconds), clock_(clock) {}
  // The file of `period`, emptied and stamped with it if it held another
  // whose entries have all expired by `now`.
  bool UsePeriod(int64_t period, int64_t now);

  int64_t period_seconds_;
  const Clock& clock_;
  std::array<int, 2> fds_ = {-1, -1};
  std::array<int64_t, 2> periods_ = {-1, -1};  // the period each file holds
  // A file whose cut record could not be cut off: written no more until it
  // holds a new period (what it holds up to the cut still reads back).
  std::array<bool, 2> stuck_ = {false, false};
  std::array<int64_t, 2> newest_ = {INT64_MIN, INT64_MIN};  // each file's latest stamp
  int64_t current_ = -1;
  bool warned_ = false;
};

}  // namespace reflex::proxy

#endif  // REFLEX_PROXY_REPLAY_JOURNAL_H_
