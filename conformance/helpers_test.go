package conformance

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// The suite's own helpers decide what "correct" means, so they are tested
// too.

func TestPatternIsSeekable(t *testing.T) {
	const n = 100_003
	whole := pattern(5, n)
	for _, off := range []int64{0, 1, 7, 8, 9, 4095, n - 1, n} {
		part := make([]byte, n-off)
		fillPattern(5, off, part)
		if !bytes.Equal(part, whole[off:]) {
			t.Errorf("fillPattern at offset %d differs from the whole stream", off)
		}
		if got, want := patternSum(5, off, n-off), sha256.Sum256(whole[off:]); got != want {
			t.Errorf("patternSum at offset %d = %x, want %x", off, got, want)
		}
	}
	streamed, err := io.ReadAll(&patternReader{seed: 5, off: 3, left: n - 3})
	if err != nil || !bytes.Equal(streamed, whole[3:]) {
		t.Errorf("patternReader: %v, equal=%v", err, bytes.Equal(streamed, whole[3:]))
	}
	if bytes.Equal(pattern(5, 64), pattern(6, 64)) {
		t.Error("two seeds give the same stream")
	}
}

func TestTreeOfIsWalkOrder(t *testing.T) {
	got := treeOf("/", []string{"/a/b", "/a-b", "/a.b/x", "/a0"})
	want := []entry{
		{path: "/a-b"}, {path: "/a.b", isDir: true}, {path: "/a.b/x"},
		{path: "/a", isDir: true}, {path: "/a/b"}, {path: "/a0"},
	}
	wantEntries(t, "treeOf", got, want)

	sub := treeOf("/a", []string{"/a/b/c", "/a/d", "/ab/x", "/a-b"})
	wantEntries(t, "treeOf(/a)", sub, []entry{{path: "/a/b", isDir: true}, {path: "/a/b/c"}, {path: "/a/d"}})
}

func TestWithoutSkipped(t *testing.T) {
	tree := treeOf("/", walkTree)
	got := withoutSkipped(tree, func(e entry) bool { return e.path == "/a/c" })
	for _, e := range got {
		if driver.IsUnder(e.path, "/a/c") {
			t.Errorf("withoutSkipped kept %s", e)
		}
	}
	if len(got) != len(tree)-4 { // d, e, f/ and f/g are under /a/c
		t.Errorf("withoutSkipped left %d of %d entries, want %d", len(got), len(tree), len(tree)-4)
	}
}

func TestInvalidPathsAreInvalid(t *testing.T) {
	for _, p := range invalidPaths {
		if driver.ValidateDirPath("test", p) == nil {
			t.Errorf("%q is in invalidPaths but valid", p)
		}
	}
}
