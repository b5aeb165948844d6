// Channel<T>: a bounded FIFO queue between fibers. Every channel has a capacity; a sender
// blocks while it is full (or uses try_send and gets RESOURCE_EXHAUSTED), a receiver blocks
// while it is empty. close() wakes everyone: sends fail with CLOSED, receives drain what is
// left and then fail with CLOSED.
#pragma once

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>

#include "core/runtime/assert.h"
#include "core/runtime/status.h"
#include "core/runtime/wait_list.h"

namespace cairn {

template <typename T>
class Channel {
 public:
  explicit Channel(std::size_t capacity) : capacity_(capacity) {
    CAIRN_ASSERT(capacity > 0, "a Channel needs a capacity of at least one");
  }
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Blocks while the channel is full.
  Status send(T item) {
    while (!closed_ && items_.size() >= capacity_) wait_on(senders_);
    if (closed_) return Status::closed("channel closed");
    push(std::move(item));
    return {};
  }

  // Never blocks.
  Status try_send(T item) {
    if (closed_) return Status::closed("channel closed");
    if (items_.size() >= capacity_) return Status::resource_exhausted("channel full");
    push(std::move(item));
    return {};
  }

  // Blocks while the channel is empty and open.
  Result<T> receive() {
    while (!closed_ && items_.empty()) wait_on(receivers_);
    if (items_.empty()) return Status::closed("channel closed");
    return pop();
  }

  std::optional<T> try_receive() {
    if (items_.empty()) return std::nullopt;
    return pop();
  }

  void close() {
    closed_ = true;
    receivers_.notify_all();
    senders_.notify_all();
  }

  bool closed() const { return closed_; }
  std::size_t size() const { return items_.size(); }
  std::size_t capacity() const { return capacity_; }

 private:
  void push(T item) {
    items_.push_back(std::move(item));
    receivers_.notify_one();
  }
  T pop() {
    T item = std::move(items_.front());
    items_.pop_front();
    senders_.notify_one();
    return item;
  }

  std::size_t capacity_;
  bool closed_ = false;
  std::deque<T> items_;
  WaitList receivers_;
  WaitList senders_;
};

}  // namespace cairn
