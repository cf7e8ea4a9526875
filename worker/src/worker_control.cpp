#include "edgesync/worker_control.h"

namespace edgesync {

bool worker_control(std::string_view, std::string_view, std::string&) {
  return false;
}

}  // namespace edgesync
