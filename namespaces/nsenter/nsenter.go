package nsenter

import "github.com/skiff-dev/skiff/namespaces"

// EnvVar names the environment variable that asks the constructor to join
// namespaces. Its value is "sync,error,ns1,ns2,...", a list of inherited file
// descriptor numbers; see the package documentation. [namespaces.Join] sets
// it, and nsenter_linux.c reads it.
const EnvVar = namespaces.NsenterEnvVar
