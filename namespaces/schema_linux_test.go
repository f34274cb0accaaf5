package namespaces

import (
	"reflect"
	"strings"
	"testing"
)

// The fingerprint changes when a field of the message changes type, as
// Spec.User did from a resolved User to the string -u gives.
func TestDescribeTypeSeesFieldTypes(t *testing.T) {
	type before struct {
		User User `json:"user"`
	}
	type after struct {
		User string `json:"user"`
	}
	describe := func(v any) string {
		var b strings.Builder
		describeType(&b, reflect.TypeOf(v), map[reflect.Type]bool{})
		return b.String()
	}
	if describe(before{}) == describe(after{}) {
		t.Errorf("describeType gives %q for both shapes of User", describe(after{}))
	}
	if got := messageSchema(); len(got) != 16 || got != messageSchema() {
		t.Errorf("messageSchema() = %q, want 16 hex digits, the same each time", got)
	}
}
