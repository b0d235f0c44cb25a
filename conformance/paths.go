package conformance

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// invalidPaths break the path rules (driver.ValidatePath) for every method,
// Stat, List and Walk included.
var invalidPaths = []string{
	"",
	"a",
	"a/b",
	"./a",
	"../a",
	" /a",
	"//",
	"//a",
	"/a//b",
	"/a/",
	"/a/b/",
	"/.",
	"/..",
	"/a/.",
	"/a/..",
	"/a/./b",
	"/a/../b",
	"/../a",
	"/a/b/../../..",
	"/a b",
	"/a ",
	"/a\tb",
	"/a\nb",
	"/a\x00b",
	"/a%20b",
	"/a%2Fb",
	"/a\\b",
	"/a:b",
	"/a?b",
	"/a#b",
	"/a*b",
	"/a+b",
	"/a=b",
	"/a@b",
	"/~a",
	"/ünïcödé",
	"/\xff\xfe",
}

// pathMethod calls one method with a path that may be invalid.
type pathMethod struct {
	name string
	// rootValid is set for the methods that accept "/".
	rootValid bool
	call      func(f *fixture, p string) error
}

// pathMethods covers every method and every path argument.
var pathMethods = []pathMethod{
	{name: "GetContent", call: func(f *fixture, p string) error {
		_, err := f.d.GetContent(f.ctx, p)
		return err
	}},
	{name: "PutContent", call: func(f *fixture, p string) error {
		return f.d.PutContent(f.ctx, p, []byte("put"))
	}},
	{name: "Reader", call: func(f *fixture, p string) error {
		rc, err := f.d.Reader(f.ctx, p, 0)
		if rc != nil {
			rc.Close()
		}
		return err
	}},
	{name: "WriterNew", call: func(f *fixture, p string) error {
		return useWriter(f, p, false)
	}},
	{name: "WriterAppend", call: func(f *fixture, p string) error {
		return useWriter(f, p, true)
	}},
	{name: "Stat", rootValid: true, call: func(f *fixture, p string) error {
		_, err := f.d.Stat(f.ctx, p)
		return err
	}},
	{name: "List", rootValid: true, call: func(f *fixture, p string) error {
		_, err := f.d.List(f.ctx, p)
		return err
	}},
	{name: "Walk", rootValid: true, call: func(f *fixture, p string) error {
		calls := 0
		err := f.d.Walk(f.ctx, p, func(driver.FileInfo) error { calls++; return nil })
		if calls > 0 {
			f.t.Errorf("Walk(%q) called its function %d times", p, calls)
		}
		return err
	}},
	{name: "MoveFrom", call: func(f *fixture, p string) error {
		return f.d.Move(f.ctx, p, "/moved")
	}},
	{name: "MoveTo", call: func(f *fixture, p string) error {
		return f.d.Move(f.ctx, "/b", p)
	}},
	{name: "Delete", call: func(f *fixture, p string) error {
		return f.d.Delete(f.ctx, p)
	}},
	{name: "DeleteFiles", call: func(f *fixture, p string) error {
		n, err := f.d.DeleteFiles(f.ctx, []string{"/b", p, "/a/b"})
		if n != 0 {
			f.t.Errorf("DeleteFiles([/b %q /a/b]) = %d, want 0", p, n)
		}
		return err
	}},
	{name: "URLFor", call: func(f *fixture, p string) error {
		_, err := f.d.URLFor(f.ctx, p, nil)
		return err
	}},
}

// useWriter opens a writer for p and, should that wrongly succeed, writes,
// commits and closes it so that the damage shows in the snapshot.
func useWriter(f *fixture, p string, appendMode bool) error {
	w, err := f.d.Writer(f.ctx, p, appendMode)
	if w != nil {
		_, _ = w.Write([]byte("written"))
		_ = w.Commit(f.ctx)
		_ = w.Close()
	}
	return err
}

// pathsTree is the content the invalid-path tests must leave untouched.
var pathsTree = []string{"/a/b", "/a/c/d", "/b"}

func (s *suite) testPaths(t *testing.T) {
	t.Run("Invalid", func(t *testing.T) {
		for _, m := range pathMethods {
			s.leaf(t, m.name, func(f *fixture) { f.checkInvalidPaths(m) })
		}
		s.leaf(t, "TraversalCreatesNothing", func(f *fixture) {
			f.puts("/x/y", "y")
			for _, p := range []string{"/x/../z", "/x/y/../../z", "/x/./z"} {
				wantInvalidPath(f.t, f.d, f.d.PutContent(f.ctx, p, []byte("z")), "PutContent("+p+")")
			}
			wantInvalidPath(f.t, f.d, f.d.Move(f.ctx, "/x/y", "/x/../z"), "Move(/x/y, /x/../z)")
			f.wantAbsent("/z")
			f.wantAbsent("/x/z")
			f.wantString("/x/y", "y")
			f.wantList("/", "/x")
		})
	})

	t.Run("Root", func(t *testing.T) {
		s.leaf(t, "Stat", func(f *fixture) {
			f.putFiles("/a/b")
			fi := f.stat("/")
			if !fi.IsDir() || fi.Path() != "/" {
				f.t.Errorf("Stat(/) = {path=%q dir=%v}, want the root directory", fi.Path(), fi.IsDir())
			}
		})
		s.leaf(t, "List", func(f *fixture) {
			f.putFiles("/a/b", "/c")
			f.wantList("/", "/a", "/c")
		})
		s.leaf(t, "Walk", func(f *fixture) {
			f.putFiles("/a/b", "/c")
			wantEntries(f.t, "Walk(/)", f.walk("/"), treeOf("/", []string{"/a/b", "/c"}))
		})
	})

	t.Run("Valid", func(t *testing.T) {
		s.leaf(t, "OddComponents", func(f *fixture) {
			names := []string{"/.hidden", "/...", "/a..b", "/b.", "/-", "/_", "/-rf", "/A-Z.a_z-09", "/x.y.z", "/d.d/..e/e.."}
			for _, p := range names {
				f.puts(p, p)
			}
			for _, p := range names {
				f.wantString(p, p)
				f.wantFile(p, int64(len(p)))
			}
			f.wantList("/", "/-", "/-rf", "/...", "/.hidden", "/A-Z.a_z-09", "/_", "/a..b", "/b.", "/d.d", "/x.y.z")
			f.wantList("/d.d", "/d.d/..e")
		})
		s.leaf(t, "Deep", func(f *fixture) {
			var b strings.Builder
			for i := 0; i < 24; i++ {
				fmt.Fprintf(&b, "/d%d", i)
			}
			dir := b.String()
			p := dir + "/file"
			f.puts(p, "deep")
			f.wantString(p, "deep")
			f.wantDir(dir)
			f.wantList(dir, p)
			wantEntries(f.t, "Walk(/)", f.walk("/"), treeOf("/", []string{p}))
		})
		s.leaf(t, "LongComponent", func(f *fixture) {
			p := "/" + strings.Repeat("n", 200)
			f.puts(p, "long")
			f.wantString(p, "long")
			f.wantList("/", p)
		})
		s.leaf(t, "LongPath", func(f *fixture) {
			var b strings.Builder
			for i := 0; i < 6; i++ {
				fmt.Fprintf(&b, "/%d%s", i, strings.Repeat("p", 99))
			}
			p := b.String()
			f.puts(p, "long")
			f.wantString(p, "long")
			f.wantFile(p, 4)
		})
		s.leaf(t, "CaseSensitive", func(f *fixture) {
			f.puts("/Case", "upper")
			f.puts("/case", "lower")
			f.wantString("/Case", "upper")
			f.wantString("/case", "lower")
			f.wantList("/", "/Case", "/case")
		})
	})

	s.leaf(t, "ErrorsNameDriver", func(f *fixture) {
		_, err := f.d.GetContent(f.ctx, "/missing")
		nf := wantErrAs[*driver.PathNotFoundError](f.t, err, "GetContent(/missing)")
		if nf != nil && (nf.DriverName != f.d.Name() || nf.Path != "/missing") {
			f.t.Errorf("PathNotFoundError = {DriverName:%q Path:%q}, want {%q /missing}", nf.DriverName, nf.Path, f.d.Name())
		}
		_, err = f.d.GetContent(f.ctx, "/a/../b")
		ip := wantErrAs[*driver.InvalidPathError](f.t, err, "GetContent(/a/../b)")
		if ip != nil && (ip.DriverName != f.d.Name() || ip.Path != "/a/../b") {
			f.t.Errorf("InvalidPathError = {DriverName:%q Path:%q}, want {%q /a/../b}", ip.DriverName, ip.Path, f.d.Name())
		}
		if f.d.Name() == "" {
			f.t.Error("Name() is empty")
		}
	})
}

// checkInvalidPaths calls m with every invalid path (and "/" where the
// method refuses it) and checks each call fails with an InvalidPathError,
// sends no request and changes nothing.
func (f *fixture) checkInvalidPaths(m pathMethod) {
	f.putFiles(pathsTree...)
	before := f.snapshot()
	paths := invalidPaths
	if !m.rootValid {
		paths = append([]string{"/"}, paths...)
	}
	for _, p := range paths {
		var err error
		what := fmt.Sprintf("%s(%q)", m.name, p)
		f.wantNoRequests(what, func() { err = m.call(f, p) })
		wantInvalidPath(f.t, f.d, err, what)
	}
	f.wantSnapshot(m.name+" with invalid paths", before)
}
