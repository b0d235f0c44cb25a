package gc_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	_ "github.com/stowage-dev/stowage/azure"
	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/gc"
	_ "github.com/stowage-dev/stowage/gcs"
	"github.com/stowage-dev/stowage/internal/testenv"
	"github.com/stowage-dev/stowage/registry"
	_ "github.com/stowage-dev/stowage/s3"
	_ "github.com/stowage-dev/stowage/swift"
	"github.com/stowage-dev/stowage/transport"
)

// faultRounds is the number of collections each backend runs under
// faults, each on a fresh root with its own fault seed.
const faultRounds = 4

// TestGCUnderFaults collects the scenario registry on each HTTP backend
// through a driver whose transport fails about one request in ten (503s
// and connection resets, before or after the server did the work). A run
// that ends without error must have deleted exactly the garbage; one that
// ends with an error must have deleted only what it planned, report
// truthfully, and leave no link or manifest naming a missing blob. A
// second run without faults then finishes the job exactly.
func TestGCUnderFaults(t *testing.T) {
	for _, backend := range []string{"s3", "gcs", "azure", "swift"} {
		t.Run(backend, func(t *testing.T) {
			var clean, faulted, injected, seen int
			byKind := map[transport.FaultKind]int{}
			for round := range faultRounds {
				f := &transport.Faults{
					Base: http.DefaultTransport,
					Seed: uint64(1000*round + len(backend)),
					Rate: 0.1,
					Kinds: []transport.FaultKind{
						transport.FaultStatus, transport.FaultReset, transport.FaultResetAfter,
					},
				}
				ok := t.Run(fmt.Sprintf("round-%d", round), func(t *testing.T) {
					if gcUnderFaults(t, backend, f) {
						clean++
					} else {
						faulted++
					}
				})
				injected += f.Total()
				seen += f.Seen()
				for k, n := range f.Injected() {
					byKind[k] += n
				}
				if !ok {
					return
				}
			}
			if ran := clean + faulted; ran > 0 {
				t.Logf("%s: %d of %d runs under faults ended with err == nil (%d with an error); %d faults injected in %d requests: %v",
					backend, clean, ran, faulted, injected, seen, byKind)
			}
			if clean+faulted == faultRounds && injected == 0 {
				t.Fatalf("no fault was injected in %d requests: the test proves nothing", seen)
			}
			if faulted > 0 && clean == 0 {
				t.Errorf("no run of %d ended without error: the driver's retries hid none of the faults", faultRounds)
			}

			// A harsh round: most deletes fail, so that the sweep stops
			// partway and the checks of a failed run have work to do.
			harsh := &transport.Faults{
				Base: http.DefaultTransport, Seed: uint64(len(backend)), Rate: 0.8,
				Kinds: []transport.FaultKind{transport.FaultStatus, transport.FaultReset, transport.FaultResetAfter},
				Match: func(req *http.Request) bool { return req.Method == http.MethodDelete || req.Method == http.MethodPost },
			}
			t.Run("harsh-deletes", func(t *testing.T) {
				ended := "without error"
				if !gcUnderFaults(t, backend, harsh) {
					ended = "with an error"
				}
				t.Logf("%s: with %d of %d delete requests failing, the run ended %s", backend, harsh.Total(), harsh.Seen(), ended)
			})
		})
	}
}

// gcUnderFaults runs one collection of a fresh scenario on backend through
// f, checks it, then finishes it without faults and checks the result. It
// reports whether the run under faults ended without error.
func gcUnderFaults(t *testing.T, backend string, f *transport.Faults) bool {
	root := testenv.UniqueRoot(t)
	d := openBackend(t, backend, root, nil)
	t.Cleanup(func() { _ = d.Delete(context.Background(), registry.RootPath) })
	faulty := openBackend(t, backend, root, &http.Client{Transport: f})

	s := newScenario()
	s.tree.write(t, d)
	before := filesOn(t, d)
	if got := minus(s.tree.paths(), before); len(got) != 0 {
		t.Fatalf("written tree misses %v", got)
	}
	vBefore := verifyProblems(t, d)
	want := slices.Sorted(slices.Values(append(slices.Clone(s.garbage), s.untagged...)))

	opts := gc.Options{Delete: true, DeleteUntagged: true, Now: old}
	rep, err := gc.Run(t.Context(), faulty, opts)
	after := filesOn(t, d)
	deleted := minus(before, after)
	if err == nil {
		if !slices.Equal(deleted, want) {
			t.Fatalf("run under faults ended without error but deleted\n%s\nwant\n%s", strings.Join(deleted, "\n"), strings.Join(want, "\n"))
		}
		if rep.Deleted != len(want) || len(rep.Failed) != 0 {
			t.Fatalf("report: %d deleted, %d failed; want %d, 0", rep.Deleted, len(rep.Failed), len(want))
		}
	} else {
		t.Logf("run under faults: %v (%d deleted, %d failed)", err, rep.Deleted, len(rep.Failed))
		checkPartialSweep(t, rep, before, after, want)
	}
	checkNoNewDangling(t, vBefore, verifyProblems(t, d))
	checkKept(t, d, s)

	// Finish without faults: the result is exactly the garbage.
	if _, err := gc.Run(t.Context(), d, opts); err != nil {
		t.Fatalf("gc.Run without faults after the faulty run: %v", err)
	}
	if got := minus(before, filesOn(t, d)); !slices.Equal(got, want) {
		t.Fatalf("after the fault-free rerun deleted\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	checkKept(t, d, s)
	return err == nil
}

// openBackend opens backend at root, sending its requests through hc when
// it is not nil.
func openBackend(t *testing.T, backend, root string, hc *http.Client) driver.StorageDriver {
	t.Helper()
	params := testenv.Params(t, backend, root)
	if hc != nil {
		params[driver.HTTPClientParam] = hc
	}
	d, err := driver.Open(t.Context(), backend, params)
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	return d
}

// checkPartialSweep checks a run that ended with an error: every path the
// report counts as deleted (planned and not failed) is gone, every failed
// path is still there or was planned, and nothing outside the plan (nor
// outside the garbage) was deleted.
func checkPartialSweep(t *testing.T, rep *gc.Report, before, after, want []string) {
	t.Helper()
	if rep == nil || rep.Plan == nil {
		if got := minus(before, after); len(got) != 0 {
			t.Fatalf("a run with no plan deleted %v", got)
		}
		return
	}
	planned := append(rep.LinkPaths(), rep.BlobPaths()...)
	present := set(after)
	isPlanned := set(planned)
	failed := map[string]bool{}
	for _, fl := range rep.Failed {
		failed[fl.Path] = true
		if !present[fl.Path] && !isPlanned[fl.Path] {
			t.Errorf("report says %s failed, but it is gone and was not planned", fl.Path)
		}
	}
	deleted := minus(before, after)
	if len(rep.Failed) == 0 && rep.Deleted == 0 {
		// The sweep never started (Mark failed, or the plan was unsafe).
		if len(deleted) != 0 {
			t.Fatalf("a run that swept nothing deleted %v", deleted)
		}
		return
	}
	if rep.Deleted+len(rep.Failed) != len(planned) {
		t.Errorf("report: %d deleted + %d failed, plan lists %d paths", rep.Deleted, len(rep.Failed), len(planned))
	}
	for _, p := range planned {
		if !failed[p] && present[p] {
			t.Errorf("report counts %s as deleted, but it is still there", p)
		}
	}
	if out := minus(deleted, planned); len(out) != 0 {
		t.Errorf("deleted outside the plan: %v", out)
	}
	if out := minus(deleted, want); len(out) != 0 {
		t.Errorf("deleted outside the garbage: %v", out)
	}
}

// verifyProblems runs registry.Verify on d (fault-free) and returns its
// problems.
func verifyProblems(t *testing.T, d driver.StorageDriver) []registry.Problem {
	t.Helper()
	rep, err := registry.Verify(t.Context(), d, registry.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep.Problems
}

// checkNoNewDangling fails t if after holds a dangling link or missing
// reference that before did not: a blob was deleted while a link or
// manifest still names it.
func checkNoNewDangling(t *testing.T, before, after []registry.Problem) {
	t.Helper()
	had := map[string]bool{}
	for _, p := range before {
		had[p.String()] = true
	}
	for _, p := range after {
		if (p.Kind == registry.DanglingLink || p.Kind == registry.MissingReference) && !had[p.String()] {
			t.Errorf("the run under faults left %s", p)
		}
	}
}

func set(list []string) map[string]bool {
	out := make(map[string]bool, len(list))
	for _, s := range list {
		out[s] = true
	}
	return out
}
