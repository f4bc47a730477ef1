package fakeapi

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Reference returns the path of name among the published API descriptions
// the fakes check requests against. They are kept in the shared/reference
// directory beside the repository (CI checks it out there), not in the
// module. The repository is the module root above the working directory (the
// nearest directory holding a go.mod), or else the one this package was
// built from, so that `mfadesk demo` run from a checkout elsewhere finds it.
// It fails when name is in neither place.
func Reference(name string) (string, error) {
	var tried []string
	for _, root := range moduleRoots() {
		p := filepath.Join(filepath.Dir(root), "shared", "reference", name)
		_, err := os.Stat(p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find %s: %w", name, err)
		}
		tried = append(tried, p)
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("find %s: no go.mod at or above the working directory", name)
	}
	return "", fmt.Errorf("find %s: %s does not exist (shared/ must sit beside the repository)", name, strings.Join(tried, " nor "))
}

// moduleRoots returns the module root above the working directory and the
// one this source file sits in, when known, without repeats.
func moduleRoots() []string {
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		if root, ok := moduleRoot(wd); ok {
			roots = append(roots, root)
		}
	}
	// self is <root>/actions/fakeapi/spec.go; with -trimpath it is not an
	// absolute path and says nothing of where the checkout is.
	if _, self, _, ok := runtime.Caller(0); ok && filepath.IsAbs(self) {
		root := filepath.Dir(filepath.Dir(filepath.Dir(self)))
		if len(roots) == 0 || roots[0] != root {
			roots = append(roots, root)
		}
	}
	return roots
}

// moduleRoot returns the nearest directory at or above dir that holds a
// go.mod, and false when there is none.
func moduleRoot(dir string) (string, bool) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Spec is a published API description, read from shared/reference (see
// Reference) and parsed the first time a fake needs it, once per process.
type Spec[T any] struct {
	name, file string
	parse      func([]byte) (T, error)

	once sync.Once
	v    T
	err  error
}

// NewSpec describes the description kept in file; name says what it is in
// errors ("Graph metadata"), parse reads it.
func NewSpec[T any](name, file string, parse func([]byte) (T, error)) *Spec[T] {
	return &Spec[T]{name: name, file: file, parse: parse}
}

// Load returns the parsed description. It fails when the file cannot be
// found, read or parsed; the error names the file, and is the same on every
// call.
func (s *Spec[T]) Load() (T, error) {
	s.once.Do(func() {
		path, err := Reference(s.file)
		if err != nil {
			s.err = fmt.Errorf("%s: %w", s.name, err)
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			s.err = fmt.Errorf("%s: %w", s.name, err)
			return
		}
		if s.v, err = s.parse(b); err != nil {
			s.err = fmt.Errorf("%s: %s: %w", s.name, path, err)
		}
	})
	return s.v, s.err
}

// Must is Load that fails t, at once, when the description cannot be had.
func (s *Spec[T]) Must(t TB) T {
	t.Helper()
	v, err := s.Load()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return v
}

// Undocumented collects what a client sent that the published description
// does not document. Its zero value is empty and ready; it is safe for
// concurrent use.
type Undocumented struct {
	mu   sync.Mutex
	list []string
}

// Add records one undocumented request (or argument, or answer).
func (u *Undocumented) Add(what string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.list = append(u.list, what)
}

// List returns what was recorded, oldest first.
func (u *Undocumented) List() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.list...)
}

// FailAtCleanup makes t fail when it ends, once for every request recorded
// by then; description names the description ("Okta's OpenAPI description").
func (u *Undocumented) FailAtCleanup(t TB, description string) {
	t.Cleanup(func() {
		for _, what := range u.List() {
			t.Errorf("client sent a request %s does not document: %s", description, what)
		}
	})
}

// PathTemplate is a documented path such as /api/v1/users/{id}/factors: a
// segment in braces matches any one non-empty segment of a request path.
type PathTemplate struct {
	// Template is the path as the description writes it.
	Template string
	segs     []string
}

// ParsePathTemplate splits template into its segments.
func ParsePathTemplate(template string) PathTemplate {
	return PathTemplate{Template: template, segs: Segments(template)}
}

// Segments splits a path (escaped, for a request path) into its segments.
func Segments(path string) []string {
	return strings.Split(strings.TrimPrefix(path, "/"), "/")
}

// Literals counts the template's segments that are not parameters: the
// more, the more specific the template.
func (p PathTemplate) Literals() int {
	n := 0
	for _, s := range p.segs {
		if !isParam(s) {
			n++
		}
	}
	return n
}

// Match reports whether a request path, split by Segments, fits the
// template, and returns the parameters, unescaped. A segment that does not
// unescape or is empty fits nothing.
func (p PathTemplate) Match(raw []string) (map[string]string, bool) {
	if len(raw) != len(p.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, seg := range p.segs {
		v, err := url.PathUnescape(raw[i])
		switch {
		case err != nil || v == "":
			return nil, false
		case isParam(seg):
			params[seg[1:len(seg)-1]] = v
		case seg != v:
			return nil, false
		}
	}
	return params, true
}

func isParam(seg string) bool {
	return len(seg) >= 2 && strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}")
}
