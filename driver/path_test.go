package driver

import (
	"errors"
	"testing"
)

func TestValidatePath(t *testing.T) {
	valid := []string{"/a", "/a/b", "/docker/registry/v2/blobs/sha256/ab/abcd/data", "/a.b", "/..a", "/a..", "/_-.", "/A9"}
	for _, p := range valid {
		if err := ValidatePath("x", p); err != nil {
			t.Errorf("ValidatePath(%q) = %v, want nil", p, err)
		}
	}
	invalid := []string{"", "/", "a", "a/b", "/a/", "//a", "/a//b", "/.", "/..", "/a/..", "/a/../b", "/a/./b", "/a b", "/a%2f", "/é", "/a\x00", "/a\\b", "/a:b", "/a*"}
	for _, p := range invalid {
		err := ValidatePath("x", p)
		var ip *InvalidPathError
		if !errors.As(err, &ip) {
			t.Errorf("ValidatePath(%q) = %v, want *InvalidPathError", p, err)
			continue
		}
		if ip.Path != p || ip.DriverName != "x" || ip.Reason == "" {
			t.Errorf("ValidatePath(%q): error fields %+v", p, ip)
		}
	}
	if err := ValidateDirPath("x", "/"); err != nil {
		t.Errorf("ValidateDirPath(/) = %v", err)
	}
	if err := ValidateDirPath("x", "/a/.."); err == nil {
		t.Error("ValidateDirPath(/a/..) = nil")
	}
}

func TestPathHelpers(t *testing.T) {
	for _, c := range []struct{ path, parent string }{{"/a", "/"}, {"/a/b", "/a"}, {"/a/b/c", "/a/b"}} {
		if got := ParentDir(c.path); got != c.parent {
			t.Errorf("ParentDir(%q) = %q, want %q", c.path, got, c.parent)
		}
	}
	if JoinPath("/", "a") != "/a" || JoinPath("/a", "b") != "/a/b" {
		t.Error("JoinPath")
	}
	for _, c := range []struct {
		path, dir string
		want      bool
	}{
		{"/a/b", "/a", true}, {"/a/bc", "/a/b", false}, {"/a/b", "/a/b", false},
		{"/a", "/", true}, {"/", "/", false}, {"/a/b/c", "/a", true}, {"/ab", "/a", false},
	} {
		if got := IsUnder(c.path, c.dir); got != c.want {
			t.Errorf("IsUnder(%q, %q) = %v", c.path, c.dir, got)
		}
	}
	if ValidComponent("a#b") || ValidComponent("..") || !ValidComponent("a.b") {
		t.Error("ValidComponent")
	}
}
