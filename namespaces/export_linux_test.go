package namespaces

import "testing"

// SetInitProgram makes Start execute path as the init until t ends.
func SetInitProgram(t testing.TB, path string) {
	old := initProgram
	initProgram = func() string { return path }
	t.Cleanup(func() { initProgram = old })
}

// SetMessageSchema makes Start and Join pass schema as the fingerprint of
// the init message until t ends, as a skiff of another build would.
func SetMessageSchema(t testing.TB, schema string) {
	old := messageSchema
	messageSchema = func() string { return schema }
	t.Cleanup(func() { messageSchema = old })
}

// MessageSchema is the fingerprint this build passes.
func MessageSchema() string { return messageSchema() }
