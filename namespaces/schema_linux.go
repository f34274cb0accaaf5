package namespaces

import (
	"fmt"
	"hash/fnv"
	"os"
	"reflect"
	"strings"
	"sync"
)

// skiff and skiff-init are two programs, and a learner may rebuild one
// and not the other. Their only contract is the init message, so the
// parent passes a fingerprint of its Go types in the init's environment,
// and the init refuses to go on when its own differs: a clear error rather
// than a JSON field decoded into the wrong thing.

// schemaEnvVar names the environment variable of the fingerprint. Not an
// argument: the arguments of a reaper (--init) are what `ps` shows as the
// container's PID 1.
const schemaEnvVar = "_SKIFF_INIT_SCHEMA"

// messageSchema is a fingerprint of the types of initMessage: every field's
// name, JSON name and kind, recursively. Computed once per process.
var messageSchema = sync.OnceValue(func() string {
	var b strings.Builder
	describeType(&b, reflect.TypeFor[initMessage](), map[reflect.Type]bool{})
	h := fnv.New64a()
	h.Write([]byte(b.String()))
	return fmt.Sprintf("%016x", h.Sum64())
})

// describeType writes the shape of t to b: what JSON encoding depends on.
func describeType(b *strings.Builder, t reflect.Type, seen map[reflect.Type]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		b.WriteString(t.Kind().String() + " ")
		describeType(b, t.Elem(), seen)
	case reflect.Array:
		fmt.Fprintf(b, "[%d]", t.Len())
		describeType(b, t.Elem(), seen)
	case reflect.Map:
		b.WriteString("map[")
		describeType(b, t.Key(), seen)
		b.WriteString("]")
		describeType(b, t.Elem(), seen)
	case reflect.Struct:
		if seen[t] {
			b.WriteString(t.Name())
			return
		}
		seen[t] = true
		b.WriteString(t.Name() + "{")
		for i := range t.NumField() {
			f := t.Field(i)
			fmt.Fprintf(b, "%s %q ", f.Name, f.Tag.Get("json"))
			describeType(b, f.Type, seen)
			b.WriteString("; ")
		}
		b.WriteString("}")
	default:
		b.WriteString(t.Kind().String())
	}
}

// checkSchema fails when the parent's fingerprint differs from ours: skiff
// and this init are different builds.
func checkSchema() error {
	if os.Getenv(schemaEnvVar) == messageSchema() {
		return nil
	}
	self, _ := os.Executable()
	return fmt.Errorf("%s (%s) and the skiff that started it are different builds: "+
		"build both from the same source (go build -o DIR/ ./cmd/skiff ./cmd/skiff-init)",
		initArg0, self)
}
