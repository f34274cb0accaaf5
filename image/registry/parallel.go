package registry

import (
	"context"
	"sync"
)

// inParallel runs task(ctx, i) for i in [0, n), at most [Parallel] at a
// time, in order of i as slots free up. The first error cancels the
// context of the others and is returned once all have stopped; a context
// cancelled from outside returns its error.
func inParallel(ctx context.Context, n int, task func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	slots := make(chan struct{}, Parallel)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-slots }()
			if err := task(ctx, i); err != nil {
				once.Do(func() { firstErr = err; cancel() })
			}
		}()
	}
	wg.Wait()

	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
