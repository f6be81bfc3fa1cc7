#include "base/call_context.h"

namespace winnow::base {
namespace {

thread_local CallScope* current_scope = nullptr;

}  // namespace

CallScope::CallScope(CallOptions options) : options_(std::move(options)), outer_(current_scope) {
  current_scope = this;
}

CallScope::~CallScope() { current_scope = outer_; }

CallScope* CallScope::current() { return current_scope; }

}  // namespace winnow::base
