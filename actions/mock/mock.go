// Package mock has function-field fakes of the interfaces around the
// domain: actions.Store, actions.Directory, actions.Notifier, and the
// service as the Slack bot sees it. A test sets the fields it expects to be
// called; a call whose field is nil panics with the method's name, so a call
// the test did not expect shows at once. Each fake also counts its calls.
//
// Use them where no database is involved: domain logic, policy refusals,
// bot handlers. The exactly-once, crash and storage tests keep the real
// SQLite and PostgreSQL stores (storage/storagetest).
package mock

import (
	"fmt"
	"reflect"
	"sync"
)

// calls counts calls by method name; safe for concurrent use.
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) add(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[method]++
}

// Calls returns how many times method was called.
func (c *calls) Calls(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

// called records a call of typ's method and returns its function f; when f
// is nil it panics, naming the method.
func called[F any](c *calls, typ, method string, f F) F {
	c.add(method)
	if reflect.ValueOf(f).IsNil() {
		panic(fmt.Sprintf("mock.%s.%s called, but its %sFn is not set", typ, method, method))
	}
	return f
}
