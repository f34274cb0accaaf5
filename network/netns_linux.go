package network

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetns runs fn on an OS thread that is in the network namespace ns, and
// returns its error. Use it for what the kernel ties to the namespace of
// the calling thread: creating a socket (it stays in that namespace for
// life), opening a file under /proc/sys/net, forking a command.
//
// setns(2) changes the namespace of one thread, and the Go scheduler moves
// goroutines between threads, so fn runs in a goroutine of its own, locked
// to its thread. If the thread cannot be switched back, the goroutine ends
// still locked and Go ends the thread with it, rather than let another
// goroutine run in the wrong namespace.
//
// Precondition: fn does its namespace-bound work itself, not in goroutines
// it starts: those run on other threads, in other namespaces.
func inNetns(ns netns.NsHandle, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("get network namespace of thread: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("enter network namespace %s: %w", ns, err)
			return
		}

		err = fn()

		if restoreErr := netns.Set(orig); restoreErr != nil {
			// The thread stays locked and dies with this goroutine.
			done <- errors.Join(err,
				fmt.Errorf("restore network namespace %s: %w", orig, restoreErr))
			return
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}
