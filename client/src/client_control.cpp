#include "edgesync/client_control.h"

namespace edgesync {

bool client_control(std::string_view, std::string_view, std::string&) {
  return false;
}

}  // namespace edgesync
