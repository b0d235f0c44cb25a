package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"sync"

	"github.com/stowage-dev/stowage/driver"
)

// NewPrefix returns a fresh, random prefix of the form
// /stowage-bench-<16 hex digits>.
func NewPrefix() (string, error) { return NewPrefixNamed("stowage-bench") }

// NewPrefixNamed returns a fresh prefix "/<name>-<16 hex digits>", for
// other commands that work under a prefix of their own (stowage
// conformance).
func NewPrefixNamed(name string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random prefix: %w", err)
	}
	return "/" + name + "-" + hex.EncodeToString(b[:]), nil
}

// CheckFresh fails with an error matching ErrPrefixInUse unless neither
// Stat nor List finds anything at prefix: the check Run makes before it
// writes, for other commands that work under a fresh prefix (stowage
// conformance).
func CheckFresh(ctx context.Context, d driver.StorageDriver, prefix string) error {
	return checkFresh(ctx, d, prefix)
}

// checkFresh fails with an error matching ErrPrefixInUse unless neither
// Stat nor List finds anything at prefix.
func checkFresh(ctx context.Context, d driver.StorageDriver, prefix string) error {
	_, err := d.Stat(ctx, prefix)
	switch {
	case err == nil:
		return fmt.Errorf("bench: %s: %w; choose another --prefix (it deletes only what it writes, and shares no prefix)", prefix, ErrPrefixInUse)
	case !driver.IsNotFound(err):
		return fmt.Errorf("bench: checking that %s is unused: %w", prefix, err)
	}
	entries, err := d.List(ctx, prefix)
	switch {
	case err == nil:
		return fmt.Errorf("bench: %s: %w (List shows %d entries); choose another --prefix", prefix, ErrPrefixInUse, len(entries))
	case !driver.IsNotFound(err):
		return fmt.Errorf("bench: checking that %s is unused: %w", prefix, err)
	}
	return nil
}

// pathSet is the set of paths a run has written (or started writing).
type pathSet struct {
	mu    sync.Mutex
	paths map[string]struct{}
}

func newPathSet() *pathSet { return &pathSet{paths: map[string]struct{}{}} }

func (s *pathSet) add(paths ...string) {
	s.mu.Lock()
	for _, p := range paths {
		s.paths[p] = struct{}{}
	}
	s.mu.Unlock()
}

func (s *pathSet) remove(paths ...string) {
	s.mu.Lock()
	for _, p := range paths {
		delete(s.paths, p)
	}
	s.mu.Unlock()
}

func (s *pathSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.paths))
	for p := range s.paths {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// cleanup deletes every path the run wrote and has not deleted yet, with
// DeleteFiles (so only those files; absent ones count as deleted), then
// reports anything still under the prefix without touching it.
func (r *runner) cleanup(ctx context.Context) error {
	d, prefix := r.cfg.Driver, r.cfg.Prefix
	left := r.written.list()
	if len(left) > 0 {
		r.log.Info("cleaning up", "files", len(left), "prefix", prefix)
		if _, err := d.DeleteFiles(ctx, left); err != nil {
			return fmt.Errorf("bench: cleanup of %d files under %s: %w", len(left), prefix, err)
		}
		r.written.remove(left...)
	}
	var foreign []string
	err := d.Walk(ctx, prefix, func(fi driver.FileInfo) error {
		if !fi.IsDir() {
			foreign = append(foreign, fi.Path())
		}
		return nil
	})
	switch {
	case err != nil && !driver.IsNotFound(err):
		return fmt.Errorf("bench: checking %s after cleanup: %w", prefix, err)
	case len(foreign) > 0:
		r.log.Warn("files the benchmark did not write are left under its prefix", "prefix", prefix, "files", len(foreign), "first", foreign[0])
	case err == nil:
		r.log.Info("empty directories left under the prefix", "prefix", prefix)
	}
	return nil
}
