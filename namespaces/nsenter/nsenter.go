package nsenter

// EnvVar names the environment variable that asks the constructor to join
// namespaces. Its value is "sync,error,ns1,ns2,...", a list of inherited file
// descriptor numbers; see the package documentation.
const EnvVar = "_SKIFF_NSENTER"
