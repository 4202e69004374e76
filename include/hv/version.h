/* What `hv` says it is: in the first boot line and the operator's `version` command. */
#ifndef HV_VERSION_H
#define HV_VERSION_H

#define HV_VERSION "0.1"
#define HV_BUILD_INFO "clang " __clang_version__ ", freestanding x86-64"

#endif
