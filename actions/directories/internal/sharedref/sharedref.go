// Package sharedref finds the published API descriptions that the test fakes
// check requests against. They are kept in the shared/reference directory
// beside the repository (CI checks it out there), not in the module.
package sharedref

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Path returns the path of the file name in shared/reference beside the
// module root: the nearest directory at or above the working directory that
// holds a go.mod. It fails when there is no module root above the working
// directory or the file is not there.
func Path(name string) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find %s: no go.mod at or above the working directory", name)
		}
		dir = parent
	}
	p := filepath.Join(filepath.Dir(dir), "shared", "reference", name)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("find %s: %s does not exist (shared/ must sit beside the repository)", name, p)
		}
		return "", fmt.Errorf("find %s: %w", name, err)
	}
	return p, nil
}
