package registry_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
	"github.com/stowage-dev/stowage/layout"
	"github.com/stowage-dev/stowage/registry"
)

// shortReads returns one byte short of a link's content for the first
// reads of path: a read cut short, or a source changed under the copy.
type shortReads struct {
	driver.StorageDriver
	path  string
	short atomic.Int32 // reads still to cut
}

func (s *shortReads) GetContent(ctx context.Context, p string) ([]byte, error) {
	b, err := s.StorageDriver.GetContent(ctx, p)
	if err == nil && p == s.path && s.short.Add(-1) >= 0 {
		b = b[:len(b)-1]
	}
	return b, err
}

func TestCopyChecksSizes(t *testing.T) {
	ctx := context.Background()
	src := inmemory.New()
	tree, err := layout.Generate(layout.Spec{Repository: "r", Manifests: 2, Tags: 1, LayersPerManifest: 1, Seed: 1, Complete: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.Write(ctx, src, 4, nil); err != nil {
		t.Fatal(err)
	}
	link := tree.Manifests[0].TagLinks[0]

	// Cut once: the retry copies it.
	dst := inmemory.New()
	s := &shortReads{StorageDriver: src, path: link}
	s.short.Store(1)
	rep, err := registry.Copy(ctx, s, dst, registry.CopyOptions{Attempts: 2, RetryBaseDelay: 1})
	if err != nil || len(rep.Failed) != 0 || rep.Retries != 1 || rep.Copied != len(tree.Files) {
		t.Fatalf("Copy = %+v, %v", rep, err)
	}
	if b, err := dst.GetContent(ctx, link); err != nil || !strings.HasPrefix(string(b), "sha256:") || len(b) != 71 {
		t.Fatalf("copied link %q, %v", b, err)
	}

	// Always cut: listed as failed, never written.
	dst = inmemory.New()
	s.short.Store(100)
	rep, err = registry.Copy(ctx, s, dst, registry.CopyOptions{Attempts: 2, RetryBaseDelay: 1})
	if err != nil || len(rep.Failed) != 1 || rep.Failed[0].Path != link || !strings.Contains(rep.Failed[0].Error, "size") {
		t.Fatalf("Copy = %+v, %v", rep, err)
	}
	if _, err := dst.Stat(ctx, link); !driver.IsNotFound(err) {
		t.Fatalf("a short copy was written: %v", err)
	}
	if rep.Copied+rep.Skipped+len(rep.Failed) != rep.Planned {
		t.Fatalf("accounting %+v", rep)
	}
}
