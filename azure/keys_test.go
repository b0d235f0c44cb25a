package azure

import (
	"cmp"
	"strings"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// FuzzBlobNames checks the blob name mapping of keys.go on pairs of keys
// of valid paths: it round-trips, no blob name has a segment ending in "."
// (Azure would trim it), blob names sort as their keys do (also against a
// directory's walk key, as start-after uses them), and a key prefix maps
// to the blob prefix of exactly the keys under it. Any other string, taken
// as a blob name, maps to a valid path only if it is that path's blob name.
func FuzzBlobNames(f *testing.F) {
	for _, seed := range [][2]string{
		{"t/v1.", "t/v1"}, {"c.", "c./x"}, {"c./x", "c.-"}, {"c./x", "c..y"},
		{"c./x", "c.0"}, {"c..", "c./x"}, {"c../x", "c./x"}, {"c...", "c.."},
		{"a.b/c.", "a.b/c.d"}, {"reg./v.", "reg/v"}, {"x.!", "x..~/y"}, {"a/b", "a/b.-/c."},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []string{a, b} {
			// As a blob name: only a path's own blob name maps to it.
			if k, ok := keyOf(s); ok && blobName(k) != s {
				t.Fatalf("blob name %q maps to the key %q, whose blob name is %q", s, k, blobName(k))
			}
			if k := listedKey(s); driver.ValidatePath("", "/"+k) == nil && blobName(k) != s {
				t.Fatalf("listedKey(%q) = %q, a valid key of another blob name", s, k)
			}
		}
		if driver.ValidatePath("", "/"+a) != nil || driver.ValidatePath("", "/"+b) != nil {
			return
		}
		na, nb := blobName(a), blobName(b)
		for k, n := range map[string]string{a: na, b: nb} {
			if got, ok := keyOf(n); !ok || got != k {
				t.Fatalf("keyOf(blobName(%q) = %q) = %q, %v", k, n, got, ok)
			}
			for _, seg := range strings.Split(n, "/") {
				if strings.HasSuffix(seg, ".") {
					t.Fatalf("blobName(%q) = %q has a segment ending in a dot", k, n)
				}
			}
		}
		if c, nc := cmp.Compare(a, b), cmp.Compare(na, nb); c != nc {
			t.Fatalf("keys %q, %q compare %d; blob names %q, %q compare %d", a, b, c, na, nb, nc)
		}
		if c, nc := cmp.Compare(b, a+"/"), cmp.Compare(nb, blobName(a+"/")); c != nc {
			t.Fatalf("key %q vs walk key %q/ compare %d; blob names %q, %q compare %d", b, a, c, nb, blobName(a+"/"), nc)
		}
		for _, p := range []string{a, a + "/"} {
			if in, nin := strings.HasPrefix(b, p), strings.HasPrefix(nb, blobPrefix(p)); in && !nin {
				t.Fatalf("key %q is under %q, its blob name %q not under %q", b, p, nb, blobPrefix(p))
			} else if nin && !in && strings.HasSuffix(p, "/") {
				t.Fatalf("blob name %q is under %q, its key %q not under %q", nb, blobPrefix(p), b, p)
			}
		}
	})
}
