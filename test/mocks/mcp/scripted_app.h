// A small mcp::Application for transport tests. Methods:
//   echo            replies with its params
//   notify_then_reply  sends notifications/message, then replies {"done":true}
//   ask             asks the client sampling/createMessage, replies with the client's answer
//   wait            never replies until cancelled; records the cancellation reason
//   broadcast       sends notifications/tools/list_changed on the session link, replies {}
#pragma once

#include "mcp/session.h"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace forge::test {

class ScriptedApp final : public mcp::Application {
public:
  struct State {
    std::mutex mutex;
    std::vector<std::string> notifications; // methods of client notifications received
    std::string cancel_reason;
    std::atomic<int> closed{0};
    std::atomic<int> opened{0};
  };

  class ScriptedSession final : public mcp::Session {
  public:
    ScriptedSession(std::shared_ptr<State> state, mcp::ClientLinkPtr link)
        : state_(std::move(state)), link_(std::move(link)) {}

    void handle(const mcp::ExchangePtr& exchange) override {
      const auto& method = exchange->request().method;
      if (method == "echo") {
        exchange->reply(exchange->request().params.is_null() ? mcp::json::value(mcp::json::object{})
                                                             : exchange->request().params);
      } else if (method == "notify_then_reply") {
        exchange->notify("notifications/message",
                         mcp::json::object{{"level", "info"}, {"data", "hi"}});
        exchange->reply(mcp::json::object{{"done", true}});
      } else if (method == "ask") {
        exchange->ask("sampling/createMessage", mcp::json::object{{"maxTokens", 5}},
                      [exchange](const mcp::Message& answer) {
                        if (answer.kind == mcp::Kind::kResult)
                          exchange->reply(answer.result);
                        else
                          exchange->fail(mcp::toError(answer));
                      });
      } else if (method == "wait") {
        exchange->onCancel([state = state_](std::string reason) {
          std::lock_guard lock(state->mutex);
          state->cancel_reason = std::move(reason);
        });
        std::lock_guard lock(state_->mutex);
        waiting_.push_back(exchange);
      } else if (method == "broadcast") {
        link_->notify("notifications/tools/list_changed", mcp::json::object{});
        exchange->reply(mcp::json::object{});
      } else {
        exchange->fail(-32601, "Method not found: " + method);
      }
    }
    void notify(const mcp::Message& notification) override {
      std::lock_guard lock(state_->mutex);
      state_->notifications.push_back(notification.method);
    }
    void close() override { ++state_->closed; }

  private:
    std::shared_ptr<State> state_;
    mcp::ClientLinkPtr link_;
    std::vector<mcp::ExchangePtr> waiting_;
  };

  core::Result<Opened> open(const mcp::SessionInfo&, const mcp::json::object&,
                            mcp::ClientLinkPtr link) override {
    ++state->opened;
    return Opened{mcp::json::object{
                      {"capabilities", mcp::json::object{}},
                      {"serverInfo", mcp::json::object{{"name", "scripted"}, {"version", "1"}}}},
                  std::make_shared<ScriptedSession>(state, std::move(link))};
  }

  std::shared_ptr<State> state = std::make_shared<State>();
};

} // namespace forge::test
