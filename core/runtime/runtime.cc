// Helpers every Runtime shares, built on its virtual interface (see runtime.h).
#include "core/runtime/runtime.h"

#include "core/runtime/scheduler.h"
#include "core/runtime/wait_list.h"

namespace cairn {

void Runtime::sleep(Duration duration) {
  bool elapsed = false;
  WaitList wake;
  ScopedTimer timer(*this, duration, [&] {
    elapsed = true;
    wake.notify_all();
  });
  while (!elapsed) wait_on(wake);
}

}  // namespace cairn
