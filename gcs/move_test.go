package gcs_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// afterOp is an http.RoundTripper that runs do once, after the first
// request of operation op (see opName) has been answered and before its
// answer reaches the driver: a deterministic point between two of the
// driver's requests.
type afterOp struct {
	next http.RoundTripper
	op   string
	once sync.Once
	do   func()
}

func (a *afterOp) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(req)
	if err == nil && opName(req) == a.op {
		a.once.Do(a.do)
	}
	return resp, err
}

// moveRace moves /src (holding "old") to /dst through quirks, with the
// source overwritten with "new" right after the driver's first request of
// op, and returns Move's error.
func moveRace(t *testing.T, root string, m *independent, op string) error {
	t.Helper()
	m.put(root+"/src", []byte("old"))
	hook := &afterOp{next: &quirks{}, op: op, do: func() { m.put(root+"/src", []byte("new")) }}
	d := newDriver(t, testConfig(t, root, &http.Client{Transport: hook}))
	err := d.Move(context.Background(), "/src", "/dst")
	if got := m.names(root + "/src"); len(got) != 1 {
		t.Fatalf("Move with the source overwritten after %s lost the new source (error %v)", op, err)
	}
	if got := m.get(root + "/src"); string(got) != "new" {
		t.Errorf("source holds %q after Move, want the new content", got)
	}
	if err == nil || driver.IsNotFound(err) {
		t.Errorf("Move with the source overwritten after %s: %v, want an error other than PathNotFoundError", op, err)
	}
	return err
}

// Move copies the generation it read and deletes the source only while it
// is that generation: a source overwritten between the copy and the
// delete stays (GCS answers the conditional delete 412; quirks models it,
// fake-gcs-server ignores ifGenerationMatch), the destination holds the
// copied generation, and Move fails. Without a change, Move through quirks
// moves (the condition holds).
func TestMoveKeepsSourceOverwrittenAfterCopy(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	moveRace(t, root, m, "Rewrite")
	if got := m.get(root + "/dst"); string(got) != "old" {
		t.Errorf("destination holds %q, want the copied generation", got)
	}

	d := newDriver(t, testConfig(t, root, &http.Client{Transport: &quirks{}}))
	if err := d.Move(context.Background(), "/src", "/moved"); err != nil {
		t.Fatalf("Move of an unchanged source: %v", err)
	}
	if got := m.names(root + "/"); !slices.Equal(got, []string{root + "/dst", root + "/moved"}) {
		t.Errorf("the SDK lists %v after Move, want /dst and /moved", got)
	}
	if got := m.get(root + "/moved"); string(got) != "new" {
		t.Errorf("moved %q, want new", got)
	}
}

// A source overwritten between Move's metadata read and its copy is not
// copied: the copy of the vanished generation creates nothing, and Move
// fails without touching the new source.
func TestMoveKeepsSourceOverwrittenBeforeCopy(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	moveRace(t, root, m, "Attrs")
	if got := m.names(root + "/dst"); len(got) != 0 {
		t.Errorf("destination %v exists after a Move that copied nothing", got)
	}
}
