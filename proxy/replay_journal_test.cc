// The replay filter's journal: what one process accepted, the next refuses.
#include "proxy/replay_journal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <string>

#include "reflex/testing/session_test_util.h"

namespace reflex::proxy {
namespace {

constexpr int64_t kWindow = 120;

std::array<uint8_t, kPublicKeyBytes> Key(uint8_t n) {
  std::array<uint8_t, kPublicKeyBytes> k{};
  k.fill(n);
  return k;
}

class Journal : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/reflex-journal-XXXXXX";
    const char* made = mkdtemp(pattern);
    ASSERT_NE(made, nullptr);
    dir_ = made;
  }
  void TearDown() override {
    for (const char* f : {"/replay-0", "/replay-1"}) unlink((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }
  // A process: a filter and its journal on dir_.
  struct Process {
    ReplayFilter filter{{1024, kWindow}};
    std::unique_ptr<FileReplayJournal> journal;
    size_t restored = 0;
  };
  std::unique_ptr<Process> Start() {
    auto p = std::make_unique<Process>();
    EXPECT_FALSE(FileReplayJournal::Open(dir_, kWindow, clock_, p->filter, &p->journal, &p->restored));
    return p;
  }
  ReplayFilter::Verdict Check(Process& p, uint8_t key, int64_t stamp_offset = 0) {
    const auto k = Key(key);
    return p.filter.Check(k, clock_.UnixSeconds() + stamp_offset, clock_.UnixSeconds(), /*owner=*/key % 3);
  }

  std::string dir_;
  testing::FakeClock clock_{1700000000};
};

TEST_F(Journal, AHelloAcceptedBeforeARestartIsAReplayAfterIt) {
  auto first = Start();
  EXPECT_EQ(first->restored, 0u);
  ASSERT_EQ(Check(*first, 1), ReplayFilter::Verdict::kFresh);
  ASSERT_EQ(Check(*first, 2, +kWindow), ReplayFilter::Verdict::kFresh) << "a client clock ahead";
  first.reset();  // the process ends (a crash leaves the same files)

  clock_.Advance(30000);
  auto second = Start();
  EXPECT_EQ(second->restored, 2u);
  EXPECT_EQ(Check(*second, 1, -30), ReplayFilter::Verdict::kReplay);
  EXPECT_EQ(Check(*second, 2, kWindow - 30), ReplayFilter::Verdict::kReplay);
  EXPECT_EQ(Check(*second, 3), ReplayFilter::Verdict::kFresh) << "a genuine client still gets in";
}

TEST_F(Journal, ARecordCutByACrashAndAForeignFileAreSkipped) {
  auto first = Start();
  ASSERT_EQ(Check(*first, 1), ReplayFilter::Verdict::kFresh);
  first.reset();
  const std::string current = dir_ + "/replay-" + std::to_string((clock_.UnixSeconds() / (2 * kWindow)) % 2);
  {
    std::ofstream(current, std::ios::app) << std::string(kJournalRecordBytes - 1, 'x');  // a cut record
    std::ofstream(dir_ + "/replay-" + std::to_string((clock_.UnixSeconds() / (2 * kWindow) + 1) % 2))
        << "not a journal";
  }
  auto second = Start();
  EXPECT_EQ(second->restored, 1u);
  EXPECT_EQ(Check(*second, 1), ReplayFilter::Verdict::kReplay);
}

TEST_F(Journal, EachFileHoldsOnePeriodAndIsEmptiedWhenItsTurnComesAgain) {
  auto p = Start();
  ASSERT_EQ(Check(*p, 1), ReplayFilter::Verdict::kFresh);
  clock_.SetUnix(clock_.UnixSeconds() + 2 * kWindow);  // the next period: the other file
  ASSERT_EQ(Check(*p, 2), ReplayFilter::Verdict::kFresh);
  clock_.SetUnix(clock_.UnixSeconds() + 2 * kWindow);  // the first file's turn again
  ASSERT_EQ(Check(*p, 3), ReplayFilter::Verdict::kFresh);
  p.reset();
  auto next = Start();
  EXPECT_EQ(next->restored, 2u) << "key 1's period was emptied";
  EXPECT_EQ(Check(*next, 3), ReplayFilter::Verdict::kReplay);
  EXPECT_EQ(Check(*next, 1), ReplayFilter::Verdict::kFresh) << "long expired, and forgotten";
}

// Set back two periods, the clock would land on the current file's turn:
// emptying it would lose the hellos just accepted.
TEST_F(Journal, AClockSetBackKeepsWritingTheCurrentFile) {
  auto p = Start();
  ASSERT_EQ(Check(*p, 1), ReplayFilter::Verdict::kFresh);
  clock_.SetUnix(clock_.UnixSeconds() - 4 * kWindow);
  ASSERT_EQ(Check(*p, 2), ReplayFilter::Verdict::kFresh);
  clock_.SetUnix(clock_.UnixSeconds() + 4 * kWindow);
  p.reset();
  auto next = Start();
  EXPECT_EQ(next->restored, 2u);
  EXPECT_EQ(Check(*next, 1), ReplayFilter::Verdict::kReplay);
}

// Restarted while the clock is still set back: the file whose turn it
// seems to be still holds hellos that can be replayed, and keeps them.
TEST_F(Journal, ARestartWithTheClockSetBackKeepsWhatCanStillBeReplayed) {
  auto first = Start();
  ASSERT_EQ(Check(*first, 1), ReplayFilter::Verdict::kFresh);
  first.reset();
  clock_.SetUnix(clock_.UnixSeconds() - 4 * kWindow);
  auto second = Start();
  ASSERT_EQ(Check(*second, 2), ReplayFilter::Verdict::kFresh);
  second.reset();
  clock_.SetUnix(clock_.UnixSeconds() + 4 * kWindow);
  auto third = Start();
  EXPECT_EQ(third->restored, 2u);
  EXPECT_EQ(Check(*third, 1), ReplayFilter::Verdict::kReplay);
}

// A record cut by a crash is cut off, so the next one is read back whole.
TEST_F(Journal, WhatIsAppendedAfterACutRecordReadsBack) {
  auto first = Start();
  ASSERT_EQ(Check(*first, 1), ReplayFilter::Verdict::kFresh);
  first.reset();
  const std::string current = dir_ + "/replay-" + std::to_string((clock_.UnixSeconds() / (2 * kWindow)) % 2);
  std::ofstream(current, std::ios::app) << std::string(kJournalRecordBytes - 1, 'x');
  auto second = Start();
  ASSERT_EQ(Check(*second, 2), ReplayFilter::Verdict::kFresh);
  second.reset();
  auto third = Start();
  EXPECT_EQ(third->restored, 2u);
  EXPECT_EQ(Check(*third, 2), ReplayFilter::Verdict::kReplay);
}

TEST_F(Journal, ASecondServerOnTheSameDirectoryIsRefused) {
  auto first = Start();
  ReplayFilter filter({1024, kWindow});
  std::unique_ptr<FileReplayJournal> journal;
  size_t restored = 0;
  EXPECT_EQ(FileReplayJournal::Open(dir_, kWindow, clock_, filter, &journal, &restored),
            std::make_error_code(std::errc::device_or_resource_busy));
  first.reset();
  EXPECT_FALSE(FileReplayJournal::Open(dir_, kWindow, clock_, filter, &journal, &restored)) << "free again";
}

TEST_F(Journal, AnUnwritableDirectoryIsAnError) {
  ReplayFilter filter({1024, kWindow});
  std::unique_ptr<FileReplayJournal> journal;
  size_t restored = 0;
  EXPECT_TRUE(FileReplayJournal::Open(dir_ + "/no/such/dir", kWindow, clock_, filter, &journal, &restored));
  EXPECT_EQ(journal, nullptr);
}

}  // namespace
}  // namespace reflex::proxy
