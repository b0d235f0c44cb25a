package filesystem

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// syncRecord is one sync a writer's Close made: the OS name, and for the
// staged data file its size on disk at that moment.
type syncRecord struct {
	name string
	size int64
}

// recordSyncs records every sync Close makes through testHookSync until
// the test ends. It runs the test alone: testHookSync is package state.
func recordSyncs(t *testing.T, d *Driver) *[]syncRecord {
	t.Helper()
	var got []syncRecord
	testHookSync = func(name string) {
		r := syncRecord{name: name, size: -1}
		if fi, err := d.root.Stat(name); err == nil && !fi.IsDir() {
			r.size = fi.Size()
		}
		got = append(got, r)
	}
	t.Cleanup(func() { testHookSync = nil })
	return &got
}

// TestCloseSyncsStagedData checks that Close makes the kept upload
// durable: the staged data synced after its buffer was flushed (the size
// on disk at the sync is every byte written), and for a writer that
// created the upload also the directories whose entries lead to it. The
// seam is testHookSync, called right after each sync: a crash cannot be
// simulated in-process, but the syncs that make one harmless can be
// counted.
func TestCloseSyncsStagedData(t *testing.T) {
	d := newTestDriver(t)
	ctx := context.Background()
	got := recordSyncs(t, d)
	session := func(path string, appendMode bool, s string) {
		t.Helper()
		*got = nil
		w, err := d.Writer(ctx, path, appendMode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	data := func(path string) string { return filepath.Join(uploadDir(path), uploadData) }
	dirs := func(path string) []syncRecord {
		return []syncRecord{{uploadDir(path), -1}, {bookName(uploadsDir), -1}}
	}

	session("/up/f", false, "hello")
	if want := append([]syncRecord{{data("/up/f"), 5}}, dirs("/up/f")...); !slices.Equal(*got, want) {
		t.Errorf("Close of a new upload synced %v, want %v", *got, want)
	}
	session("/up/f", true, " world")
	if want := []syncRecord{{data("/up/f"), 11}}; !slices.Equal(*got, want) {
		t.Errorf("Close of a resumed upload synced %v, want %v", *got, want)
	}
	// Continuing a committed file stages a copy in a new upload.
	if err := d.PutContent(ctx, "/c", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	session("/c", true, "d")
	if want := append([]syncRecord{{data("/c"), 4}}, dirs("/c")...); !slices.Equal(*got, want) {
		t.Errorf("Close of a writer continuing a committed file synced %v, want %v", *got, want)
	}
}
