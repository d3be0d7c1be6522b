// SPDX-License-Identifier: Apache-2.0
// The subscription index and its per-pair route cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "routing/router.hpp"

namespace {

using trailhound::routing::route_key_hash;
using trailhound::routing::router;
using targets = std::vector<uint32_t>;

// Instance 0: IAM key events; 1: every S3 event; 2: every event; 3: ConsoleLogin from any
// source; 4: KMS Decrypt and GetObject (subscribed twice to GetObject).
router bundled_like() {
  router r;
  r.subscribe(0, "iam.amazonaws.com", "CreateAccessKey");
  r.subscribe(0, "iam.amazonaws.com", "UpdateAccessKey");
  r.subscribe(1, "s3.amazonaws.com", "*");
  r.subscribe(2, "*", "*");
  r.subscribe(3, "", "ConsoleLogin");  // empty: any source
  r.subscribe(4, "kms.amazonaws.com", "Decrypt");
  r.subscribe(4, "s3.amazonaws.com", "GetObject");
  r.subscribe(4, "s3.amazonaws.com", "GetObject");
  return r;
}

TEST(router, resolves_exact_subscriptions_and_wildcards) {
  router r = bundled_like();
  EXPECT_EQ(r.route("iam.amazonaws.com", "CreateAccessKey"), (targets{0, 2}));
  EXPECT_EQ(r.route("iam.amazonaws.com", "UpdateAccessKey"), (targets{0, 2}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObject"), (targets{1, 2, 4}));  // no duplicate 4
  EXPECT_EQ(r.route("s3.amazonaws.com", "PutBucketPolicy"), (targets{1, 2}));
  EXPECT_EQ(r.route("signin.amazonaws.com", "ConsoleLogin"), (targets{2, 3}));
  EXPECT_EQ(r.route("kms.amazonaws.com", "Decrypt"), (targets{2, 4}));
}

TEST(router, an_unknown_pair_gets_only_the_wildcard_subscribers) {
  router r = bundled_like();
  EXPECT_EQ(r.route("ec2.amazonaws.com", "DescribeInstances"), (targets{2}));
  EXPECT_EQ(r.route("iam.amazonaws.com", "CreateAccessKeys"), (targets{2}));  // one letter more
  EXPECT_EQ(r.route("iam.amazonaws.co", "CreateAccessKey"), (targets{2}));    // one letter less
  EXPECT_EQ(r.route("", ""), (targets{2}));  // a record without eventSource and eventName
  router none;
  EXPECT_TRUE(none.route("sts.amazonaws.com", "AssumeRole").empty());
}

TEST(router, cached_answers_equal_the_first_ones) {
  router r = bundled_like();
  const targets first = r.route("s3.amazonaws.com", "GetObject");
  EXPECT_EQ(r.cached_pairs(), 1u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(r.route("s3.amazonaws.com", "GetObject"), first);
    EXPECT_EQ(r.route("kms.amazonaws.com", "Decrypt"), (targets{2, 4}));
  }
  EXPECT_EQ(r.cached_pairs(), 2u);
}

TEST(router, the_precomputed_hash_gives_the_same_answer) {
  router r = bundled_like();
  EXPECT_EQ(route_key_hash("s3.amazonaws.com", "GetObject"),
            route_key_hash("s3.amazonaws.com", "GetObject"));
  EXPECT_EQ(
      r.route("s3.amazonaws.com", "GetObject", route_key_hash("s3.amazonaws.com", "GetObject")),
      (targets{1, 2, 4}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObject"), (targets{1, 2, 4}));
  EXPECT_EQ(r.cached_pairs(), 1u);
}

TEST(router, the_split_between_source_and_name_is_part_of_the_key) {
  EXPECT_NE(route_key_hash("s3.amazonaws.com", "GetObject"),
            route_key_hash("s3.amazonaws.co", "mGetObject"));
  EXPECT_NE(route_key_hash("kms.amazonaws.com", "Decrypt"),
            route_key_hash("kms.amazonaws.comDecrypt", ""));
  router r = bundled_like();
  EXPECT_EQ(r.route("s3.amazonaws.co", "mGetObject"), (targets{2}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObject"), (targets{1, 2, 4}));
}

// Pairs whose key hashes are equal (forced here) are told apart by their strings: names of the
// same length that differ in the first, a middle or the last byte, and short names.
TEST(router, colliding_key_hashes_are_told_apart_by_the_strings) {
  router r = bundled_like();
  const uint64_t h = 42;
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObject", h), (targets{1, 2, 4}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObjecT", h), (targets{1, 2}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "PutObject", h), (targets{1, 2}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetXbject", h), (targets{1, 2}));
  EXPECT_EQ(r.route("iam.amazonaws.com", "CreateAccessKey", h), (targets{0, 2}));
  EXPECT_EQ(r.route("iam.amazonaws.com", "DeleteAccessKey", h), (targets{2}));
  EXPECT_EQ(r.route("kms.amazonaws.com", "Decrypt", h), (targets{2, 4}));  // 7 bytes
  EXPECT_EQ(r.route("kms.amazonaws.com", "Encrypt", h), (targets{2}));     // 7 bytes
  EXPECT_EQ(r.route("kms.amazonaws.com", "Decrypu", h), (targets{2}));     // last byte
  EXPECT_EQ(r.route("kms.amazonaws.com", "Sign", h), (targets{2}));        // 4 bytes
  EXPECT_EQ(r.route("kms.amazonaws.com", "Sigm", h), (targets{2}));
  EXPECT_EQ(r.route("kms.amazonaws.com", "ListKeys", h), (targets{2}));  // 8 bytes
  EXPECT_EQ(r.route("kms.amazonaws.com", "ListTags", h), (targets{2}));
  EXPECT_EQ(r.route("lambda.amazonaws.com", "Invoke", h), (targets{2}));  // 6 bytes
  EXPECT_EQ(r.route("x.amazonaws.com", "Get", h), (targets{2}));          // 3 bytes
  EXPECT_EQ(r.route("x.amazonaws.com", "Got", h), (targets{2}));          // 3 bytes
  EXPECT_EQ(r.route("signin.amazonaws.com", "ConsoleLogin", h), (targets{2, 3}));
  EXPECT_EQ(r.route("signin.amazonaws.com", "ConsoleLogim", h), (targets{2}));
  EXPECT_EQ(r.cached_pairs(), 18u);
  // Asked again (in another order): each pair keeps its own answer.
  EXPECT_EQ(r.route("signin.amazonaws.com", "ConsoleLogin", h), (targets{2, 3}));
  EXPECT_EQ(r.route("kms.amazonaws.com", "Decrypt", h), (targets{2, 4}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObjecT", h), (targets{1, 2}));
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObject", h), (targets{1, 2, 4}));
  EXPECT_EQ(r.route("x.amazonaws.com", "Got", h), (targets{2}));
  EXPECT_EQ(r.route("kms.amazonaws.com", "ListTags", h), (targets{2}));
  EXPECT_EQ(r.cached_pairs(), 18u);
}

// Through growth of the table, against resolving every pair from scratch.
TEST(router, agrees_with_a_fresh_router_over_many_pairs) {
  const std::vector<std::string> sources = {"iam.amazonaws.com",    "s3.amazonaws.com",
                                            "kms.amazonaws.com",    "ec2.amazonaws.com",
                                            "signin.amazonaws.com", "sts.amazonaws.com"};
  const std::vector<std::string> names = {"CreateAccessKey", "UpdateAccessKey",  "GetObject",
                                          "Decrypt",         "ConsoleLogin",     "AssumeRole",
                                          "ListBuckets",     "DescribeInstances"};
  router r = bundled_like();
  std::mt19937 rng(11);
  for (int i = 0; i < 20'000; ++i) {
    std::string source = sources[rng() % sources.size()];
    std::string name = names[rng() % names.size()];
    if (rng() % 2) name += std::to_string(rng() % 500);  // unknown names, e.g. GetObject17
    router fresh = bundled_like();
    ASSERT_EQ(r.route(source, name), fresh.route(source, name)) << source << " " << name;
  }
  EXPECT_GT(r.cached_pairs(), 1000u);
}

TEST(router, a_flood_of_distinct_pairs_stays_bounded) {
  router r = bundled_like();
  for (size_t i = 0; i < router::MAX_CACHED_PAIRS + 1000; ++i) {
    const std::string name = "Flood" + std::to_string(i);
    ASSERT_EQ(r.route("s3.amazonaws.com", name), (targets{1, 2}));
    ASSERT_LE(r.cached_pairs(), router::MAX_CACHED_PAIRS);
  }
  EXPECT_EQ(r.route("s3.amazonaws.com", "GetObject"), (targets{1, 2, 4}));
  EXPECT_EQ(r.route("iam.amazonaws.com", "CreateAccessKey"), (targets{0, 2}));
}

TEST(router, a_new_subscription_is_seen_by_pairs_cached_before) {
  router r = bundled_like();
  EXPECT_EQ(r.route("sts.amazonaws.com", "AssumeRole"), (targets{2}));
  r.subscribe(5, "sts.amazonaws.com", "AssumeRole");
  EXPECT_EQ(r.cached_pairs(), 0u);
  EXPECT_EQ(r.route("sts.amazonaws.com", "AssumeRole"), (targets{2, 5}));
}

}  // namespace
