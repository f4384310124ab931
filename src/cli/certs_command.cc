// `forge certs check|renew|install`: the gateway's TLS certificate. check grades a certificate
// file or the one a server presents; renew makes a new one (self-signed, or signed by a local CA)
// and installs it; install puts a given pair in place. The gateway reloads a changed pair by
// itself (server.tls_watch_interval) or at once on SIGHUP (--pid); with --url the command waits
// until the gateway presents the new certificate. The work is in ops/certs.h.
#include "cli/commands.h"
#include "cli/output.h"
#include "ops/certs.h"

#include <CLI/CLI.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <csignal>
#include <thread>

namespace forge::cli {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::object certificateJson(const ops::CertificateInfo& c) {
  json::array names;
  for (const auto& n : c.names)
    names.emplace_back(n);
  return json::object{{"subject", c.subject},
                      {"issuer", c.issuer},
                      {"names", names},
                      {"serial", c.serial},
                      {"fingerprintSha256", c.fingerprint},
                      {"notBefore", c.not_before},
                      {"notAfter", c.not_after},
                      {"daysLeft", c.days_left},
                      {"selfSigned", c.self_signed},
                      {"chainLength", c.chain_length}};
}

int fail(const std::string& command, int code, const std::string& message) {
  std::fprintf(stderr, "forge certs %s: %s\n", command.c_str(), message.c_str());
  return code;
}

class CertsCommand final : public Command {
public:
  std::string name() const override { return "certs"; }
  std::string synopsis() const override {
    return "Check, renew and install the gateway's TLS certificate (reloaded without restart)";
  }

  void setup(CLI::App& app) override {
    app.require_subcommand(1);
    app.footer("The gateway serves HTTPS with server.tls_cert and server.tls_key (forge.yaml).\n"
               "Examples:\n"
               "  forge certs check --cert data/tls/cert.pem --key data/tls/key.pem\n"
               "  forge certs check --url https://gateway.example.com:8443\n"
               "  forge certs renew --cert data/tls/cert.pem --key data/tls/key.pem \\\n"
               "      --name gateway.example.com --url https://127.0.0.1:8443\n"
               "  forge certs install --cert new.pem --key new.key --to-cert data/tls/cert.pem "
               "--to-key data/tls/key.pem");

    check_ = app.add_subcommand("check", "Expiry, names, key and chain, graded; exits 0 ok, 4 "
                                         "warning, 3 critical");
    auto* source = check_->add_option_group("source", "What to check");
    source->add_option("--cert", cert_, "A PEM certificate file (its chain may follow)");
    source->add_option("--url", url_, "A server: https://host:port");
    source->require_option(1);
    check_->add_option("--key", key_, "The private key to match against --cert");
    check_->add_option("--ca-file", ca_file_, "Extra trusted CA certificates (PEM)");
    check_->add_option("--name", names_, "A name the certificate must cover (repeatable)");
    check_->add_option("--warning-days", limits_.warning_days, "Warn below this many days left")
        ->capture_default_str();
    check_
        ->add_option("--critical-days", limits_.critical_days, "Critical below this many days left")
        ->capture_default_str();
    check_->add_flag("--json", json_, "Print JSON");
    check_->footer("Example: forge certs check --url https://127.0.0.1:8443 --warning-days 21");

    renew_ = app.add_subcommand("renew", "Make a new certificate and key and install them");
    renew_->add_option("--cert", cert_, "Where the gateway's certificate is (server.tls_cert)")
        ->required();
    renew_->add_option("--key", key_, "Where its key is (server.tls_key)")->required();
    renew_->add_option("--name", names_,
                       "Names to certify (repeatable; default: those of the current "
                       "certificate, else localhost and 127.0.0.1)");
    renew_->add_option("--days", days_, "Validity in days")
        ->capture_default_str()
        ->check(CLI::Range(1, 825));
    renew_->add_option("--ca-cert", ca_cert_, "Sign with this local CA certificate (PEM)");
    renew_->add_option("--ca-key", ca_key_, "The local CA's key (PEM)");
    addReloadOptions(*renew_);
    renew_->footer("Example: forge certs renew --cert data/tls/cert.pem --key data/tls/key.pem "
                   "--days 90 --url https://127.0.0.1:8443");

    install_ = app.add_subcommand("install", "Validate a certificate and key and put them in "
                                             "place atomically (key mode 0600)");
    install_->add_option("--cert", cert_, "The new certificate (PEM, chain after it)")->required();
    install_->add_option("--key", key_, "The new key (PEM)")->required();
    install_->add_option("--to-cert", to_cert_, "The gateway's certificate file (server.tls_cert)")
        ->required();
    install_->add_option("--to-key", to_key_, "The gateway's key file (server.tls_key)")
        ->required();
    addReloadOptions(*install_);
    install_->footer("Example: forge certs install --cert new.pem --key new.key --to-cert "
                     "data/tls/cert.pem --to-key data/tls/key.pem --url https://127.0.0.1:8443");
  }

  int run() override {
    if (check_->parsed()) return check();
    if (renew_->parsed()) return renew();
    return install();
  }

private:
  void addReloadOptions(CLI::App& app) {
    app.add_option("--url", url_,
                   "The gateway (https://host:port): wait until it presents the new certificate");
    app.add_option("--pid", pid_, "Send the gateway SIGHUP to reload at once");
    app.add_option("--wait", wait_seconds_, "How long --url waits for the reload, in seconds")
        ->capture_default_str();
    app.add_flag("--json", json_, "Print JSON");
  }

  // Host and port of --url (https://host[:port][/...]; the port defaults to 443).
  std::optional<std::pair<std::string, std::string>> target(const std::string& command) {
    std::string_view rest = url_;
    if (rest.starts_with("https://")) rest.remove_prefix(8);
    rest = rest.substr(0, rest.find('/'));
    std::string host(rest), port = "443";
    if (rest.starts_with('[')) {
      const auto close = rest.find(']');
      if (close != std::string_view::npos) {
        host = std::string(rest.substr(1, close - 1));
        if (rest.size() > close + 2 && rest[close + 1] == ':')
          port = std::string(rest.substr(close + 2));
      }
    } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
      host = std::string(rest.substr(0, colon));
      port = std::string(rest.substr(colon + 1));
    }
    if (host.empty() || port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      fail(command, kExitUsage, fmt::format("--url '{}': expected https://host:port", url_));
      return std::nullopt;
    }
    return std::pair{host, port};
  }

  int check() {
    core::Result<ops::CertificateInfo> info = core::Error{core::Errc::kInternal, ""};
    if (!url_.empty()) {
      auto where = target("check");
      if (!where) return kExitUsage;
      info = ops::inspectServer(where->first, where->second, 10s, ca_file_);
    } else {
      info = ops::inspectCertificateFile(cert_, key_, ca_file_);
    }
    if (!info) return fail("check", kExitUnhealthy, info.error().message);
    const auto checks = ops::gradeCertificate(*info, limits_, names_);
    const auto worst = ops::worst(checks);
    if (json_) {
      json::array items;
      for (const auto& c : checks)
        items.push_back(json::object{
            {"name", c.name}, {"status", ops::levelName(c.level)}, {"detail", c.detail}});
      printResult(true, Table({}),
                  json::object{{"status", ops::levelName(worst)},
                               {"certificate", certificateJson(*info)},
                               {"checks", items}});
      return ops::exitCodeOf(worst);
    }
    fmt::print("subject     {}\nissuer      {}\nnames       {}\nserial      {}\nsha256      "
               "{}\nvalid       {} .. {}\n\n",
               info->subject, info->issuer, fmt::join(info->names, ", "), info->serial,
               info->fingerprint, info->not_before, info->not_after);
    return printChecks(false, checks);
  }

  int renew() {
    ops::CertificateRequest request{
        .names = names_, .days = days_, .ca_cert_pem = {}, .ca_key_pem = {}};
    if (request.names.empty()) {
      if (auto current = ops::inspectCertificateFile(cert_); current && !current->names.empty())
        request.names = current->names;
      else
        request.names = {"localhost", "127.0.0.1"};
    }
    if (ca_cert_.empty() != ca_key_.empty())
      return fail("renew", kExitUsage, "--ca-cert and --ca-key go together");
    if (!ca_cert_.empty()) {
      auto cert = ops::readPemFile(ca_cert_);
      auto key = ops::readPemFile(ca_key_);
      if (!cert || !key) return fail("renew", kExitFailure, "cannot read the CA's files");
      request.ca_cert_pem = *cert;
      request.ca_key_pem = *key;
    }
    if (!json_)
      std::fprintf(stderr, "making a certificate for %s ...\n",
                   fmt::format("{}", fmt::join(request.names, ", ")).c_str());
    auto pair = ops::makeCertificate(request);
    if (!pair) return fail("renew", kExitFailure, pair.error().message);
    return installAndReload("renew", *pair, cert_, key_);
  }

  int install() {
    auto cert = ops::readPemFile(cert_);
    if (!cert) return fail("install", kExitUsage, cert.error().message);
    auto key = ops::readPemFile(key_);
    if (!key) return fail("install", kExitUsage, key.error().message);
    return installAndReload("install", ops::PemPair{*cert, *key}, to_cert_, to_key_);
  }

  int installAndReload(const std::string& command, const ops::PemPair& pair,
                       const std::string& cert_file, const std::string& key_file) {
    if (auto status = ops::installPair(pair, cert_file, key_file); !status)
      return fail(command, kExitFailure, status.error().message);
    auto info = ops::inspectCertificateFile(cert_file, key_file);
    if (!info) return fail(command, kExitFailure, info.error().message);
    if (!json_)
      fmt::print("installed {} (serial {}, until {}) and {}\n", cert_file, info->serial,
                 info->not_after, key_file);
    if (pid_ > 0 && ::kill(pid_, SIGHUP) != 0)
      return fail(command, kExitFailure, fmt::format("cannot signal process {}", pid_));

    bool confirmed = false;
    if (!url_.empty()) {
      auto where = target(command);
      if (!where) return kExitUsage;
      if (!json_) std::fprintf(stderr, "waiting for %s to present it ...\n", url_.c_str());
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait_seconds_);
      while (!confirmed && std::chrono::steady_clock::now() < deadline) {
        auto served = ops::inspectServer(where->first, where->second, 5s);
        confirmed = served && served->fingerprint == info->fingerprint;
        if (!confirmed) std::this_thread::sleep_for(250ms);
      }
      if (!confirmed) {
        return fail(command, kExitFailure,
                    fmt::format("{} still presents another certificate after {} s: check the "
                                "gateway's log (a refused pair is logged), its server.tls_cert "
                                "path, or reload it with SIGHUP (--pid) or POST "
                                "/admin/tls/reload",
                                url_, wait_seconds_));
      }
      if (!json_)
        fmt::print("{} now presents the new certificate (sha256 {})\n", url_, info->fingerprint);
    }
    if (json_) {
      printResult(true, Table({}),
                  json::object{{"certificate", certificateJson(*info)},
                               {"certFile", cert_file},
                               {"keyFile", key_file},
                               {"served", confirmed}});
    }
    return kExitOk;
  }

  CLI::App* check_ = nullptr;
  CLI::App* renew_ = nullptr;
  CLI::App* install_ = nullptr;
  std::string cert_, key_, url_, ca_file_, ca_cert_, ca_key_, to_cert_, to_key_;
  std::vector<std::string> names_;
  ops::CertificateLimits limits_;
  int days_ = 90;
  int pid_ = 0;
  int wait_seconds_ = 15;
  bool json_ = false;
};

} // namespace

CommandPtr makeCertsCommand() { return std::make_unique<CertsCommand>(); }

} // namespace forge::cli
