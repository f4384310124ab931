#include "auth/password.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <string>

namespace forge::auth {
namespace {

// kMinimum keeps these tests fast; one test proves the production parameters.
constexpr PasswordCost kCheap = PasswordCost::kMinimum;

TEST(PasswordTest, HashVerifiesTheSamePasswordOnly) {
  const auto hash = hashPassword("correct horse battery staple", kCheap);
  ASSERT_TRUE(hash.ok()) << hash.error().message;
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$")) << *hash;
  EXPECT_TRUE(verifyPassword(*hash, "correct horse battery staple"));
  EXPECT_FALSE(verifyPassword(*hash, "correct horse battery stapl"));
  EXPECT_FALSE(verifyPassword(*hash, "Correct horse battery staple"));
  EXPECT_FALSE(verifyPassword(*hash, ""));
}

TEST(PasswordTest, PasswordsWithNulAndNonAsciiBytesRoundTrip) {
  const std::string password("p\0ss\xc3\xa9-w\xf0\x9f\x94\x91rd", 15);
  const auto hash = hashPassword(password, kCheap);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(verifyPassword(*hash, password));
  EXPECT_FALSE(verifyPassword(*hash, "p")); // the bytes after the NUL count
}

TEST(PasswordTest, InteractiveCostUsesLibsodiumInteractiveLimits) {
  const auto hash = hashPassword("correct horse battery staple");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=65536,t=2,p=1$")) << *hash;
  EXPECT_TRUE(verifyPassword(*hash, "correct horse battery staple"));
  EXPECT_FALSE(passwordNeedsRehash(*hash));
  EXPECT_TRUE(passwordNeedsRehash(*hash, kCheap));
}

TEST(PasswordTest, SamePasswordHashesDifferentlyEachTime) {
  const auto first = hashPassword("correct horse battery staple", kCheap);
  const auto second = hashPassword("correct horse battery staple", kCheap);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(*first, *second); // fresh random salt
  EXPECT_TRUE(verifyPassword(*first, "correct horse battery staple"));
  EXPECT_TRUE(verifyPassword(*second, "correct horse battery staple"));
}

TEST(PasswordTest, MalformedHashesNeverVerify) {
  const auto hash = hashPassword("correct horse battery staple", kCheap);
  ASSERT_TRUE(hash.ok());
  std::string flipped = *hash;
  flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
  std::string with_nul = *hash;
  with_nul.insert(10, 1, '\0');
  for (const std::string& bad :
       {std::string(), std::string("correct horse battery staple"), std::string("$argon2id$"),
        hash->substr(0, hash->size() / 2), with_nul, std::string(4096, '$')}) {
    EXPECT_FALSE(verifyPassword(bad, "correct horse battery staple")) << bad;
    EXPECT_TRUE(passwordNeedsRehash(bad, kCheap)) << bad;
  }
  // Damage to the hash bytes themselves: well-formed parameters, so only verification notices.
  for (const std::string& bad : {flipped, *hash + "x"}) {
    EXPECT_FALSE(verifyPassword(bad, "correct horse battery staple")) << bad;
  }
}

TEST(PasswordTest, Argon2iHashesVerifyButNeedARehash) {
  ASSERT_GE(sodium_init(), 0);
  char argon2i[crypto_pwhash_STRBYTES] = {};
  const std::string_view password = "correct horse battery staple";
  ASSERT_EQ(crypto_pwhash_str_alg(argon2i, password.data(), password.size(),
                                  crypto_pwhash_argon2i_OPSLIMIT_MIN,
                                  crypto_pwhash_argon2i_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2I13),
            0);
  EXPECT_TRUE(verifyPassword(argon2i, password));
  EXPECT_TRUE(passwordNeedsRehash(argon2i, kCheap));
}

TEST(PasswordTest, OverlongPasswordsAreRefused) {
  const std::string longest(kMaxPasswordBytes, 'x');
  const auto hash = hashPassword(longest, kCheap);
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(verifyPassword(*hash, longest));
  const auto refused = hashPassword(longest + "x", kCheap);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, core::Errc::kUnprocessable);
  EXPECT_FALSE(verifyPassword(*hash, longest + "x"));
}

TEST(PasswordTest, RehashWhenTheCostChanges) {
  const auto cheap = hashPassword("correct horse battery staple", kCheap);
  ASSERT_TRUE(cheap.ok());
  EXPECT_FALSE(passwordNeedsRehash(*cheap, kCheap));
  EXPECT_TRUE(passwordNeedsRehash(*cheap, PasswordCost::kInteractive));
}

TEST(PasswordTest, StrengthNeedsLengthAndTwoCharacterClasses) {
  EXPECT_TRUE(checkPasswordStrength("correct horse battery staple").ok()); // lower + space
  EXPECT_TRUE(checkPasswordStrength("abcdefghijk1").ok());
  EXPECT_TRUE(checkPasswordStrength("ABCDEFGHIJKl").ok());
  EXPECT_TRUE(checkPasswordStrength("123456789012-").ok());
  // 12 characters, not 12 bytes: each é is two bytes.
  EXPECT_TRUE(checkPasswordStrength("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                    "abcdef")
                  .ok());

  const auto too_short = checkPasswordStrength("Abc123!");
  ASSERT_FALSE(too_short.ok());
  EXPECT_EQ(too_short.error().code, core::Errc::kUnprocessable);
  EXPECT_NE(too_short.error().message.find("at least 12 characters"), std::string::npos);
  EXPECT_EQ(too_short.error().message.find("two of"), std::string::npos);

  const auto one_class = checkPasswordStrength("abcdefghijklmnop");
  ASSERT_FALSE(one_class.ok());
  EXPECT_NE(one_class.error().message.find("at least two of"), std::string::npos);
  EXPECT_EQ(one_class.error().message.find("12 characters"), std::string::npos);
  EXPECT_FALSE(checkPasswordStrength("123456789012345").ok());
  // 17 bytes but 11 characters.
  EXPECT_FALSE(checkPasswordStrength("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                     "abcde")
                   .ok());

  const auto both = checkPasswordStrength("short");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("12 characters"), std::string::npos);
  EXPECT_NE(both.error().message.find("two of"), std::string::npos);
  EXPECT_EQ(both.error().message.find("short"), std::string::npos); // never echoes the password

  const auto overlong = checkPasswordStrength(std::string(kMaxPasswordBytes + 1, 'a') + "1");
  ASSERT_FALSE(overlong.ok());
  EXPECT_EQ(overlong.error().code, core::Errc::kUnprocessable);
}

} // namespace
} // namespace forge::auth
