// The auth.* configuration keys, shared by every process that authenticates requests (the
// gateway and the service manager), and their translation into SecurityOptions.
#pragma once

#include "config/config.h"
#include "identity/security_options.h"

namespace forge::identity {

void addSecurityKeys(config::Schema& schema);
SecurityOptions securityOptions(const config::Config& config);

} // namespace forge::identity
