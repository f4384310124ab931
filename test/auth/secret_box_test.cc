#include "auth/secret_box.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace forge::auth {
namespace {

constexpr std::string_view kSecret = "0123456789abcdef0123456789abcdef-test-secret";
constexpr std::string_view kCannotDecrypt =
    "cannot decrypt: wrong AUTH_ENCRYPTION_SECRET or damaged value";

SecretBox box(std::string_view secret = kSecret, std::string_view purpose = "forge-credentials") {
  auto made = SecretBox::fromSecret(secret, purpose);
  EXPECT_TRUE(made.ok()) << made.error().message;
  return std::move(made).value();
}

void expectCannotOpen(const SecretBox& b, std::string_view sealed) {
  const auto opened = b.open(sealed);
  ASSERT_FALSE(opened.ok()) << sealed;
  EXPECT_EQ(opened.error().code, core::Errc::kInternal);
  EXPECT_EQ(opened.error().message, kCannotDecrypt);
}

TEST(SecretBoxTest, RoundTripsEmptyUnicodeAndLargeValues) {
  const SecretBox b = box();
  std::string large(64 * 1024, '\0');
  for (std::size_t i = 0; i < large.size(); ++i)
    large[i] = static_cast<char>(i * 31 % 251);
  for (const std::string& plaintext :
       {std::string(), std::string("ghp_token"), std::string("p\xc3\xa4ss \xf0\x9f\x94\x91"),
        std::string("a\0b", 3), large}) {
    const std::string sealed = b.seal(plaintext);
    EXPECT_TRUE(sealed.starts_with("v1:"));
    EXPECT_TRUE(isSealed(sealed));
    const auto opened = b.open(sealed);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    EXPECT_EQ(*opened, plaintext);
  }
}

TEST(SecretBoxTest, SealedFormatIsPrefixAndBase64urlOfNonceCiphertextTag) {
  const std::string sealed = box().seal("hello");
  // 12 + 5 + 16 = 33 bytes -> 44 base64url characters, no padding.
  EXPECT_EQ(sealed.size(), 3 + 44);
  EXPECT_EQ(sealed.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 3),
            std::string::npos);
  EXPECT_EQ(sealed.find("hello"), std::string::npos);
}

TEST(SecretBoxTest, EverySealDiffers) {
  const SecretBox b = box();
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i)
    seen.insert(b.seal("same plaintext"));
  EXPECT_EQ(seen.size(), 100U);
}

TEST(SecretBoxTest, AnyTamperedByteIsRefused) {
  const SecretBox b = box();
  const std::string sealed = b.seal("credential");
  // Every character after the prefix, changed to another base64url character.
  for (std::size_t i = 3; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
    expectCannotOpen(b, tampered);
  }
}

TEST(SecretBoxTest, MalformedValuesAreRefused) {
  const SecretBox b = box();
  const std::string sealed = b.seal("credential");
  for (const std::string& bad : {std::string(), std::string("credential"), std::string("v1:"),
                                 std::string("v2:") + sealed.substr(3), "V1:" + sealed.substr(3),
                                 sealed.substr(0, sealed.size() - 1), sealed + "A", sealed + "=",
                                 sealed.substr(0, 20) + "+" + sealed.substr(21),
                                 "v1:" + std::string(36, 'A'), "v1:" + std::string(38, 'A')}) {
    expectCannotOpen(b, bad);
  }
  EXPECT_FALSE(isSealed("credential"));
  EXPECT_FALSE(isSealed("v1:"));
  EXPECT_FALSE(isSealed("v1:not base64"));
  EXPECT_FALSE(isSealed(sealed + "="));
  EXPECT_FALSE(isSealed("v1:" + std::string(36, 'A'))); // 27 bytes: one short of nonce + tag
  // 28 bytes, well-formed but not ours: isSealed() is about shape, open() about keys.
  EXPECT_TRUE(isSealed("v1:" + std::string(38, 'A')));
}

TEST(SecretBoxTest, WrongSecretCannotOpen) {
  const std::string sealed = box().seal("credential");
  expectCannotOpen(box("another secret that is long enough to be accepted"), sealed);
}

TEST(SecretBoxTest, PurposesGiveDifferentKeys) {
  const std::string sealed = box(kSecret, "forge-credentials").seal("credential");
  expectCannotOpen(box(kSecret, "forge-sessions"), sealed);
  const auto same = box(kSecret, "forge-credentials").open(sealed);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, "credential");
}

TEST(SecretBoxTest, ShortSecretsAreRefused) {
  const auto refused = SecretBox::fromSecret(std::string(31, 'x'));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kInvalidParams);
  EXPECT_EQ(refused.error().message, "AUTH_ENCRYPTION_SECRET must be at least 32 characters");
  EXPECT_FALSE(SecretBox::fromSecret("").ok());
  EXPECT_TRUE(SecretBox::fromSecret(std::string(32, 'x')).ok());
}

TEST(SecretBoxTest, CopiesShareTheKey) {
  const SecretBox original = box();
  const std::string sealed = original.seal("credential");
  SecretBox copy = original;
  ASSERT_TRUE(copy.open(sealed).ok());
  copy = box("another secret that is long enough to be accepted");
  expectCannotOpen(copy, sealed);
  EXPECT_TRUE(original.open(sealed).ok());
}

} // namespace
} // namespace forge::auth
