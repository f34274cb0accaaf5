// Command testsummary reads the JSON events of `go test -json` on stdin,
// prints what a person needs from them (package results, and the output of
// every test that failed or was skipped) and counts the tests.
//
//	go test -json ./... | testsummary -state counts.json
//	testsummary -state counts.json -total
//
// With -state, the counts of each run are added to the file, so several
// go test runs (unit tests, scenario tests) add up to one total. With
// -total it prints that total as the plain line "N passed, N failed,
// N skipped", which is how scripts/test.sh ends, and exits 1 if any test
// failed. The format of the events is described by `go doc test2json`.
//
// # Limitations
//
//   - Subtests are counted like tests, and so is a parent whose subtests
//     ran, as gotestsum counts them.
//   - A package that fails without a failing test (a build error, a panic
//     in TestMain, a timeout) counts as one failed test.
package main
