// Certificates made, inspected, graded and installed with OpenSSL: the figures come from the
// certificate itself, and a pair that does not belong together is never installed.
#include "ops/certs.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace forge::ops {
namespace {

std::filesystem::path scratch() {
  auto dir = std::filesystem::temp_directory_path() /
             ("forge-certs-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

TEST(Certs, SelfSignedCertificateIsInspectedAndGraded) {
  auto pair = makeCertificate({.names = {"gateway.test", "127.0.0.1"}, .days = 90});
  ASSERT_TRUE(pair) << pair.error().message;
  const auto dir = scratch();
  write(dir / "cert.pem", pair->cert_pem);
  write(dir / "key.pem", pair->key_pem);
  auto info = inspectCertificateFile((dir / "cert.pem").string(), (dir / "key.pem").string());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->subject, "CN=gateway.test");
  EXPECT_EQ(info->names, (std::vector<std::string>{"gateway.test", "127.0.0.1"}));
  EXPECT_TRUE(info->self_signed);
  EXPECT_TRUE(info->chain_verified) << info->chain_error;
  EXPECT_NEAR(info->days_left, 90.0, 0.01);
  EXPECT_EQ(*info->key_matches, true);
  EXPECT_EQ(info->fingerprint.size(), 32u * 3 - 1);

  auto checks = gradeCertificate(*info, {}, {"gateway.test", "api.gateway.test"});
  EXPECT_EQ(checks[0].name, "expiry");
  EXPECT_EQ(checks[0].level, Level::kOk);
  EXPECT_EQ(checks.back().name, "name api.gateway.test");
  EXPECT_EQ(checks.back().level, Level::kCritical);
  std::filesystem::remove_all(dir);
}

TEST(Certs, ExpiringCertificatesAreWarningThenCritical) {
  for (auto [days, level] :
       {std::pair{20, Level::kWarning}, {5, Level::kCritical}, {45, Level::kOk}}) {
    auto pair = makeCertificate({.names = {"localhost"}, .days = days});
    ASSERT_TRUE(pair);
    const auto dir = scratch();
    write(dir / "cert.pem", pair->cert_pem);
    auto info = inspectCertificateFile((dir / "cert.pem").string());
    ASSERT_TRUE(info);
    EXPECT_EQ(gradeCertificate(*info, {.warning_days = 30, .critical_days = 7})[0].level, level)
        << days << " days";
    // Limits are configurable.
    EXPECT_EQ(gradeCertificate(*info, {.warning_days = 2, .critical_days = 1})[0].level,
              Level::kOk);
    std::filesystem::remove_all(dir);
  }
}

TEST(Certs, SignedByALocalCaVerifiesWithThatCa) {
  // A CA: a self-signed certificate used to sign (its CA:FALSE is tolerated by the test's own
  // trust store only if OpenSSL accepts it, so make the chain check with --ca-file semantics).
  auto ca = makeCertificate({.names = {"Forge Test CA"}, .days = 365});
  ASSERT_TRUE(ca);
  auto leaf = makeCertificate(
      {.names = {"svc.test"}, .days = 30, .ca_cert_pem = ca->cert_pem, .ca_key_pem = ca->key_pem});
  ASSERT_TRUE(leaf) << leaf.error().message;
  const auto dir = scratch();
  write(dir / "leaf.pem", leaf->cert_pem);
  auto info = inspectCertificateFile((dir / "leaf.pem").string());
  ASSERT_TRUE(info);
  EXPECT_FALSE(info->self_signed);
  EXPECT_EQ(info->issuer, "CN=Forge Test CA");
  EXPECT_EQ(info->chain_length, 2);

  auto wrong_ca_key = makeCertificate({.names = {"x"}, .days = 1});
  EXPECT_FALSE(makeCertificate({.names = {"svc.test"},
                                .days = 30,
                                .ca_cert_pem = ca->cert_pem,
                                .ca_key_pem = wrong_ca_key->key_pem}));
  std::filesystem::remove_all(dir);
}

TEST(Certs, InstallIsAtomicWithAPrivateKeyAndRefusesAMismatchedPair) {
  const auto dir = scratch();
  const auto cert = (dir / "cert.pem").string();
  const auto key = (dir / "key.pem").string();
  auto first = makeCertificate({.names = {"localhost"}, .days = 10});
  ASSERT_TRUE(installPair(*first, cert, key));
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto before = inspectCertificateFile(cert, key);
  ASSERT_TRUE(before);

  auto second = makeCertificate({.names = {"localhost"}, .days = 10});
  PemPair mismatched{second->cert_pem, first->key_pem};
  auto refused = installPair(mismatched, cert, key);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("does not belong"), std::string::npos);
  EXPECT_EQ(inspectCertificateFile(cert, key)->fingerprint, before->fingerprint);

  ASSERT_TRUE(installPair(*second, cert, key));
  const auto after = inspectCertificateFile(cert, key);
  EXPECT_NE(after->fingerprint, before->fingerprint);
  EXPECT_TRUE(*after->key_matches);
  EXPECT_FALSE(std::filesystem::exists(cert + ".new"));
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace forge::ops
