//go:build !unix

package storage

import "os"

// lockFile does nothing where flock is not available: there, running one
// serve process per SQLite database is up to the operator.
func lockFile(*os.File) error { return nil }
