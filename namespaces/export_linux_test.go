package namespaces

import "testing"

// SetInitProgram makes Start execute path as the init until t ends.
func SetInitProgram(t testing.TB, path string) {
	old := initProgram
	initProgram = func() string { return path }
	t.Cleanup(func() { initProgram = old })
}
