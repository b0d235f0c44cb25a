package driver_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// flatStore is a sorted key listing served page by page, as an object
// store serves it: the test double of WalkFlat's one backend call. It can
// return short and empty pages before the end (as Ceph RGW and GCS may)
// and ignore startAfter (as some Azure-compatible services do); it counts
// its calls.
type flatStore struct {
	paths    []string // sorted
	pageSize int
	// short, when set, gives a page's size from its call number (it may
	// be 0): pages shorter than pageSize that are not the last.
	short func(call int) int
	// ignoreStartAfter makes the listing start from the beginning.
	ignoreStartAfter bool
	failAt           int // the call (1-based) that fails; 0: none
	calls            int
}

var errList = errors.New("list failed")

func (s *flatStore) list(ctx context.Context, dir, startAfter, token string) (driver.ListPage, error) {
	s.calls++
	if s.calls == s.failAt {
		return driver.ListPage{}, errList
	}
	if err := ctx.Err(); err != nil {
		return driver.ListPage{}, err
	}
	prefix := strings.TrimSuffix(dir, "/") + "/"
	start := 0
	switch {
	case token != "":
		start, _ = strconv.Atoi(token)
	case startAfter != "" && !s.ignoreStartAfter:
		start, _ = slices.BinarySearch(s.paths, startAfter)
		for start < len(s.paths) && s.paths[start] <= startAfter {
			start++
		}
	}
	n := s.pageSize
	if s.short != nil {
		n = min(n, s.short(s.calls))
	}
	var page driver.ListPage
	i := start
	for ; i < len(s.paths) && len(page.Files) < n; i++ {
		if strings.HasPrefix(s.paths[i], prefix) {
			page.Files = append(page.Files, driver.FileInfoFields{FilePath: s.paths[i], FileSize: int64(len(s.paths[i]))})
		}
	}
	if i < len(s.paths) {
		page.Next = strconv.Itoa(i)
	}
	return page, nil
}

// flatTree is a registry-like tree with a large directory to skip.
func flatTree() []string {
	var paths []string
	for r := 0; r < 3; r++ {
		for m := 0; m < 40; m++ {
			paths = append(paths, fmt.Sprintf("/reg/repo%d/_manifests/revisions/sha256/%03d/link", r, m))
		}
		for l := 0; l < 5; l++ {
			paths = append(paths, fmt.Sprintf("/reg/repo%d/_layers/sha256/%03d/link", r, l))
		}
	}
	paths = append(paths, "/reg/a-b", "/reg/a.txt", "/reg/a/b", "/top")
	slices.Sort(paths)
	return paths
}

// reference walks the same tree through the inmemory backend, the
// executable spec.
func reference(t *testing.T, paths []string, root string, skip func(driver.FileInfo) bool, opts ...driver.WalkOption) ([]string, error) {
	t.Helper()
	d := inmemory.New()
	for _, p := range paths {
		if err := d.PutContent(t.Context(), p, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	return collect(func(f driver.WalkFn) error { return d.Walk(t.Context(), root, f, opts...) }, skip)
}

func collect(walk func(driver.WalkFn) error, skip func(driver.FileInfo) bool) ([]string, error) {
	var got []string
	err := walk(func(fi driver.FileInfo) error {
		got = append(got, driver.WalkKey(fi.Path(), fi.IsDir()))
		if skip != nil && skip(fi) {
			return driver.ErrSkipDir
		}
		return nil
	})
	return got, err
}

func skipNamed(name string) func(driver.FileInfo) bool {
	return func(fi driver.FileInfo) bool { return fi.IsDir() && strings.HasSuffix(fi.Path(), "/"+name) }
}

func TestWalkFlatMatchesReference(t *testing.T) {
	paths := flatTree()
	cases := []struct {
		name string
		root string
		skip func(driver.FileInfo) bool
		opts []driver.WalkOption
	}{
		{"All", "/", nil, nil},
		{"Subtree", "/reg/repo1", nil, nil},
		{"SkipRevisions", "/", skipNamed("revisions"), nil},
		{"SkipRepo", "/reg", skipNamed("repo1"), nil},
		{"HintFile", "/", nil, []driver.WalkOption{driver.WithStartAfter("/reg/repo1/_layers/sha256/002/link")}},
		{"HintDir", "/reg", nil, []driver.WalkOption{driver.WithStartAfter("/reg/repo2/")}},
		{"HintAndSkip", "/", skipNamed("_manifests"), []driver.WalkOption{driver.WithStartAfter("/reg/repo0/_layers/")}},
	}
	stores := map[string]func() *flatStore{
		"FullPages":  func() *flatStore { return &flatStore{pageSize: 7} },
		"ShortPages": func() *flatStore { return &flatStore{pageSize: 7, short: func(c int) int { return c % 4 }} },
		"RandomPages": func() *flatStore {
			r := rand.New(rand.NewPCG(1, 2))
			return &flatStore{pageSize: 9, short: func(int) int { return r.IntN(10) }}
		},
		"IgnoresStart": func() *flatStore { return &flatStore{pageSize: 5, ignoreStartAfter: true} },
		"OnePage":      func() *flatStore { return &flatStore{pageSize: 1000} },
		"IgnoresStartShort": func() *flatStore {
			return &flatStore{pageSize: 5, ignoreStartAfter: true, short: func(c int) int { return c % 3 }}
		},
	}
	for _, c := range cases {
		want, err := reference(t, paths, c.root, c.skip, c.opts...)
		if err != nil {
			t.Fatalf("%s: reference walk: %v", c.name, err)
		}
		for sname, mk := range stores {
			t.Run(c.name+"/"+sname, func(t *testing.T) {
				s := mk()
				s.paths = paths
				got, err := collect(func(f driver.WalkFn) error {
					return driver.WalkFlat(t.Context(), "flat", c.root, f, c.opts, s.list)
				}, c.skip)
				if err != nil {
					t.Fatalf("WalkFlat: %v", err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("WalkFlat visited\n%q\nwant (inmemory)\n%q", got, want)
				}
			})
		}
	}
}

func TestWalkFlatJumpsPastSkippedDirectory(t *testing.T) {
	var paths []string
	for i := 0; i < 1000; i++ {
		paths = append(paths, fmt.Sprintf("/big/%04d", i))
	}
	paths = append(paths, "/after")
	slices.Sort(paths)
	s := &flatStore{paths: paths, pageSize: 10}
	got, err := collect(func(f driver.WalkFn) error {
		return driver.WalkFlat(t.Context(), "flat", "/", f, nil, s.list)
	}, skipNamed("big"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/after", "/big/"}; !slices.Equal(got, want) {
		t.Errorf("visited %q, want %q", got, want)
	}
	// One page into /big, then one jump that lists /after.
	if s.calls != 2 {
		t.Errorf("%d list calls, want 2 (a skipped directory must be jumped over, not paged through)", s.calls)
	}
}

func TestWalkFlatNotFound(t *testing.T) {
	paths := []string{"/a/b/c", "/a/file"}
	for _, root := range []string{"/missing", "/a/file", "/a/b/c"} {
		s := &flatStore{paths: paths, pageSize: 10}
		err := driver.WalkFlat(t.Context(), "flat", root, func(driver.FileInfo) error { return nil }, nil, s.list)
		var nf *driver.PathNotFoundError
		if !errors.As(err, &nf) || nf.DriverName != "flat" || nf.Path != root {
			t.Errorf("Walk(%s) = %v, want a PathNotFoundError naming flat and the path", root, err)
		}
	}
	// A hint past everything in an existing directory is no error, even
	// when the listing shows empty pages first.
	s := &flatStore{paths: paths, pageSize: 10, short: func(c int) int { return max(0, c-2) }}
	if err := driver.WalkFlat(t.Context(), "flat", "/a", func(driver.FileInfo) error { return nil },
		[]driver.WalkOption{driver.WithStartAfter("/a/z")}, s.list); err != nil {
		t.Errorf("Walk(/a) with a hint past its end: %v", err)
	}
	// The root always exists.
	s = &flatStore{pageSize: 10}
	if err := driver.WalkFlat(t.Context(), "flat", "/", func(driver.FileInfo) error { return nil }, nil, s.list); err != nil {
		t.Errorf("Walk(/) of an empty store: %v", err)
	}
}

func TestWalkFlatErrors(t *testing.T) {
	paths := flatTree()
	s := &flatStore{paths: paths, pageSize: 5, failAt: 3}
	visited := 0
	err := driver.WalkFlat(t.Context(), "flat", "/", func(driver.FileInfo) error { visited++; return nil }, nil, s.list)
	if !errors.Is(err, errList) {
		t.Errorf("WalkFlat with a failing page = %v, want %v", err, errList)
	}
	if visited == 0 {
		t.Error("nothing visited before the failing page")
	}

	stop := errors.New("stop")
	s = &flatStore{paths: paths, pageSize: 5}
	err = driver.WalkFlat(t.Context(), "flat", "/", func(driver.FileInfo) error { return stop }, nil, s.list)
	if !errors.Is(err, stop) || s.calls != 1 {
		t.Errorf("WalkFlat with a failing WalkFn = %v after %d calls, want %v after 1", err, s.calls, stop)
	}

	var ipe *driver.InvalidPathError
	if err := driver.WalkFlat(t.Context(), "flat", "/a/../b", func(driver.FileInfo) error { return nil }, nil, s.list); !errors.As(err, &ipe) {
		t.Errorf("WalkFlat(/a/../b) = %v, want an InvalidPathError", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s = &flatStore{paths: paths, pageSize: 5}
	if err := driver.WalkFlat(ctx, "flat", "/", func(driver.FileInfo) error { return nil }, nil, s.list); !errors.Is(err, context.Canceled) || s.calls != 0 {
		t.Errorf("WalkFlat with a cancelled ctx = %v after %d calls, want context.Canceled after 0", err, s.calls)
	}
}

func TestWalkFlatParallel(t *testing.T) {
	paths := flatTree()
	want, err := reference(t, paths, "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &flatStore{paths: paths, pageSize: 7}
	got := make(chan string, len(want))
	err = driver.WalkFlat(t.Context(), "flat", "/", func(fi driver.FileInfo) error {
		got <- driver.WalkKey(fi.Path(), fi.IsDir())
		return nil
	}, []driver.WalkOption{driver.WithParallel(4)}, s.list)
	if err != nil {
		t.Fatal(err)
	}
	close(got)
	var all []string
	for p := range got {
		all = append(all, p)
	}
	slices.Sort(all)
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Errorf("parallel WalkFlat visited %q, want %q", all, want)
	}
}
