#include "base/alloc_counter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

namespace reflex::testing {
namespace {

class AllocationCounter : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!AllocationCountsAreExact()) GTEST_SKIP() << "not exact under TSan";
  }
};

TEST_F(AllocationCounter, CountsEveryOperatorNew) {
  AllocationScope scope;
  auto a = std::make_unique<int>(1);
  auto b = std::make_unique<int[]>(10);
  void* aligned = ::operator new(100, std::align_val_t{64});
  ::operator delete(aligned, std::align_val_t{64});
  EXPECT_EQ(scope.count(), 3u);
}

TEST_F(AllocationCounter, CountsMalloc) {
  AllocationScope scope;
  void* volatile p = std::malloc(10);
  std::free(p);
  void* q = nullptr;
  ASSERT_EQ(posix_memalign(&q, 64, 128), 0);
  std::free(q);
  EXPECT_EQ(scope.count(), 2u);
}

TEST_F(AllocationCounter, CountsNothingWhenNothingIsAllocated) {
  std::vector<int> v(100);
  AllocationScope scope;
  for (int i = 0; i < 100; ++i) v[i] = i;
  EXPECT_EQ(scope.count(), 0u);
}

}  // namespace
}  // namespace reflex::testing
