package conformance_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

// sharedInmemory is a Harness over inmemory whose New calls with one Root
// share a store; wrap, when set, wraps every driver.
func sharedInmemory(groups []string, wrap func(driver.StorageDriver) driver.StorageDriver) conformance.Harness {
	var (
		mu     sync.Mutex
		stores = map[string]driver.StorageDriver{}
	)
	return conformance.Harness{
		Name:   "inmemory",
		Groups: groups,
		New: func(t testing.TB, env conformance.Env) driver.StorageDriver {
			mu.Lock()
			defer mu.Unlock()
			d, ok := stores[env.Root]
			if !ok {
				d = inmemory.New()
				if wrap != nil {
					d = wrap(d)
				}
				stores[env.Root] = d
			}
			return d
		},
	}
}

func TestRunStandalonePasses(t *testing.T) {
	res, err := conformance.RunStandalone(t.Context(), sharedInmemory([]string{"Paths", "DeleteFiles"}, nil), conformance.StandaloneOptions{Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	pass, fail, skip := res.Counts()
	if res.Failed || fail > 0 || pass < 20 || skip != 0 {
		t.Fatalf("Failed=%v, %d passed, %d failed, %d skipped; want a pass of the two groups: %+v", res.Failed, pass, fail, skip, res.Tests)
	}
	groups := map[string]bool{}
	for _, l := range res.Tests {
		groups[l.Group] = true
		if strings.HasPrefix(l.Name, "standalone") || !strings.HasPrefix(l.Name, l.Group+"/") {
			t.Errorf("leaf %q in group %q: want names relative to the suite", l.Name, l.Group)
		}
	}
	if len(groups) != 2 || !groups["Paths"] || !groups["DeleteFiles"] {
		t.Errorf("groups = %v, want Paths and DeleteFiles", groups)
	}
	for _, name := range []string{"Paths/Invalid/Stat", "DeleteFiles/Many"} {
		found := false
		for _, l := range res.Tests {
			found = found || l.Name == name
		}
		if !found {
			t.Errorf("no leaf %s in %d results", name, len(res.Tests))
		}
	}
}

// lyingURLs claims a URL for every path, which inmemory cannot make.
type lyingURLs struct{ driver.StorageDriver }

func (lyingURLs) URLFor(context.Context, string, map[string]any) (string, error) {
	return "http://127.0.0.1:1/nothing", nil
}

func TestRunStandaloneReportsFailures(t *testing.T) {
	res, err := conformance.RunStandalone(t.Context(), sharedInmemory([]string{"URLFor"},
		func(d driver.StorageDriver) driver.StorageDriver { return lyingURLs{d} }), conformance.StandaloneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, fail, _ := res.Counts()
	if !res.Failed || fail == 0 {
		t.Fatalf("Failed=%v with %d failed leaves, want failures: %+v", res.Failed, fail, res.Tests)
	}
	for _, l := range res.Tests {
		if l.Status == conformance.StatusFail && !strings.Contains(l.Output, "URLFor") {
			t.Errorf("failed leaf %s has output %q, want the failure message", l.Name, l.Output)
		}
	}
}

func TestRunStandaloneInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	opened := 0
	h := sharedInmemory([]string{"Paths"}, func(d driver.StorageDriver) driver.StorageDriver { opened++; return d })
	res, err := conformance.RunStandalone(ctx, h, conformance.StandaloneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pass, fail, skip := res.Counts()
	if !res.Interrupted || pass != 0 || fail != 0 || skip == 0 || opened != 0 {
		t.Fatalf("Interrupted=%v, %d passed, %d failed, %d skipped, %d drivers opened; want everything skipped: %+v",
			res.Interrupted, pass, fail, skip, opened, res.Tests)
	}
	if !strings.HasSuffix(res.Tests[0].Output, "interrupted") {
		t.Errorf("skip message %q, want interrupted", res.Tests[0].Output)
	}
}
