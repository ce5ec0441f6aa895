//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || android || ios)

package runner

import (
	"errors"
	"io/fs"
	"os"
)

// lockFile does nothing: where flock is not available, an open file is its
// own lock (see lockHeld).
func lockFile(*os.File) error { return nil }

// lockHeld reports whether the lock file name is still in use. Without
// flock, it relies on the file being impossible to remove while its run
// holds it open, as on Windows; so checking a dead run's lock removes it.
// Where an open file can be removed, no run is ever taken for alive, and
// concurrent runs into one output directory are not supported.
func lockHeld(name string) bool {
	err := os.Remove(name)
	return err != nil && !errors.Is(err, fs.ErrNotExist)
}

// lockDir does nothing where flock is not available: runs that end at the
// same moment in one output folder may then write its index in any order.
func lockDir(string) (unlock func(), err error) { return func() {}, nil }
