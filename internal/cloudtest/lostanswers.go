package cloudtest

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/stowage-dev/stowage/transport"
)

// LostAnswers checks, for each operation op, that a request whose answer
// is lost (the connection drops after the server acted on it) and which is
// therefore sent again does no harm: a file of size bytes written with
// Writer and Commit and then moved ends up whole at its new path, and
// alone, after exactly one fault and two op requests. b.New builds the
// driver (with a part size that makes size several parts, if op is one of
// the multipart upload's); b.Keys and b.Get check what the server holds.
func LostAnswers(t *testing.T, b Backend, size int, ops ...string) {
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			root := b.Root(t)
			faults := &transport.Faults{Rate: 1, Max: 1, Kinds: []transport.FaultKind{transport.FaultResetAfter},
				Match: func(req *http.Request) bool { return b.Op(req) == op }}
			hc, _, o := CountingClient(faults, b.Op)
			d := b.New(t, root, hc, Options{})
			ctx := context.Background()
			content := PatternBytes(size)
			w, err := d.Writer(ctx, "/f", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(content); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(ctx); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			if err := d.Move(ctx, "/f", "/g"); err != nil {
				t.Fatalf("Move: %v", err)
			}
			if faults.Total() != 1 {
				t.Fatalf("%d faults injected, want 1", faults.Total())
			}
			if got := o.Take()[op]; got != 2 {
				t.Errorf("%d %s requests, want 2 (one lost answer, one retry)", got, op)
			}
			if got := b.Get(t, root+"/g"); !bytes.Equal(got, content) {
				t.Errorf("%s reads %d bytes, want the %d committed", b.Name, len(got), len(content))
			}
			if got, want := b.Keys(t, root+"/"), []string{root + "/g"}; !slices.Equal(got, want) {
				t.Errorf("%s lists %v, want %v", b.Name, got, want)
			}
		})
	}
}
