package azure_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stowage-dev/stowage/driver"
)

// beforeOp is a transport that runs a hook once, just before the first
// request of the named operation (opName) whose URL path ends in suffix
// goes to the server: a deterministic point between two requests of the
// driver.
type beforeOp struct {
	next   http.RoundTripper
	op     string
	suffix string
	hook   func()
	once   sync.Once
}

// RoundTrip implements http.RoundTripper.
func (b *beforeOp) RoundTrip(req *http.Request) (*http.Response, error) {
	if opName(req) == b.op && strings.HasSuffix(req.URL.Path, b.suffix) {
		b.once.Do(b.hook)
	}
	return b.next.RoundTrip(req)
}

// TestMoveKeepsSourceChangedBeforeDelete: a source overwritten between
// Move's copy and its delete must not be deleted: Move fails and the new
// content stays at the source. Failed before Move deleted with If-Match on
// the ETag it copied (the new content was lost).
func TestMoveKeepsSourceChangedBeforeDelete(t *testing.T) {
	ctx := context.Background()
	root := freshRoot(t)
	m := newIndependent(t)
	hc := &http.Client{Transport: &beforeOp{next: http.DefaultTransport, op: "DeleteBlob", suffix: "/src",
		hook: func() { m.put(root+"/m/src", []byte("new")) }}}
	d := newDriver(t, testConfig(t, root, hc))
	if err := d.PutContent(ctx, "/m/src", []byte("old")); err != nil {
		t.Fatal(err)
	}
	err := d.Move(ctx, "/m/src", "/m/dst")
	if err == nil {
		t.Errorf("Move of a source overwritten before its delete succeeded")
	}
	if got, err := d.GetContent(ctx, "/m/src"); err != nil || string(got) != "new" {
		t.Errorf("source after the failed Move = %q, %v; want the new content", got, err)
	}
}

// TestMoveCopiesThePinnedSource: a source overwritten between Move's look
// at it and its copy is not copied: the copy is pinned to the ETag seen,
// so Move fails without a change at the destination, and the source keeps
// the new content.
func TestMoveCopiesThePinnedSource(t *testing.T) {
	ctx := context.Background()
	root := freshRoot(t)
	m := newIndependent(t)
	hc := &http.Client{Transport: &beforeOp{next: http.DefaultTransport, op: "CopyBlob", suffix: "/dst",
		hook: func() { m.put(root+"/m/src", []byte("new")) }}}
	d := newDriver(t, testConfig(t, root, hc))
	if err := d.PutContent(ctx, "/m/src", []byte("old")); err != nil {
		t.Fatal(err)
	}
	if err := d.Move(ctx, "/m/src", "/m/dst"); err == nil {
		t.Errorf("Move of a source overwritten before its copy succeeded")
	}
	if _, err := d.Stat(ctx, "/m/dst"); !driver.IsNotFound(err) {
		t.Errorf("Stat(/m/dst) after the failed Move = %v, want not found", err)
	}
	if got, err := d.GetContent(ctx, "/m/src"); err != nil || string(got) != "new" {
		t.Errorf("source after the failed Move = %q, %v; want the new content", got, err)
	}
}
