package actions

import "sync"

// forEachLimited calls fn(i) for every i in [0, n), at most limit at a time,
// and returns when all have returned. fn writes its own result slot.
func forEachLimited(n, limit int, fn func(i int)) {
	sem := make(chan struct{}, max(limit, 1))
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}
