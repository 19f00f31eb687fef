// A mail transport for tests: returns scripted outcomes in order (kSent
// once the script runs out), or throws when told to, and remembers every
// message it was given.
#pragma once

#include <deque>
#include <stdexcept>
#include <string>
#include <vector>

#include "notify/transport.hpp"

namespace stockwatch::test {

class ScriptedTransport final : public MailTransport {
 public:
  struct Sent {
    std::string from, to, data;
  };

  void script(SendOutcome::Kind kind, int code, std::string detail) {
    outcomes_.push_back(SendOutcome{kind, code, std::move(detail)});
  }
  // The next send() throws std::runtime_error(what) (a programming error
  // below the mailer, as far as the caller can tell).
  void script_throw(std::string what) { throws_.push_back(std::move(what)); }

  SendOutcome send(const std::string& from, const std::string& to,
                   const std::string& data) override {
    calls.push_back({from, to, data});
    if (!throws_.empty()) {
      const std::string what = throws_.front();
      throws_.pop_front();
      throw std::runtime_error(what);
    }
    if (outcomes_.empty()) return SendOutcome{SendOutcome::Kind::kSent, 250, "250 OK queued"};
    SendOutcome out = outcomes_.front();
    outcomes_.pop_front();
    return out;
  }
  [[nodiscard]] std::string describe() const override { return "scripted"; }

  std::vector<Sent> calls;

 private:
  std::deque<SendOutcome> outcomes_;
  std::deque<std::string> throws_;
};

}  // namespace stockwatch::test
