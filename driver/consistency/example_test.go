package consistency_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/stowage-dev/stowage/conformance"
	"github.com/stowage-dev/stowage/driver/consistency"
	"github.com/stowage-dev/stowage/inmemory"
)

// ExampleWrap wraps a backend that lags (here the conformance package's
// simulator of an eventually consistent store, where a new file stays
// invisible to reads and listings for 200 ms) and reads back at once what
// it wrote.
//
// What the wrapper guarantees, within this process: a read after a write
// returns the new content and size (waiting for the backend, at most
// Options.MaxWait, then failing with a *StaleError rather than returning
// stale data); a read after a delete finds nothing; List and Walk show
// what was written and hide what was deleted.
//
// What it does not: writes made by other processes (or through another
// wrapper) may be seen late, and a path this process deleted stays hidden
// for Options.Window even if another process writes it again; in a race
// between two writers of one path the last one to reach the backend wins.
func ExampleWrap() {
	lagging := conformance.NewEventual(inmemory.New(), conformance.EventualOptions{
		CreateLag: 200 * time.Millisecond,
		ListLag:   200 * time.Millisecond,
	})
	d := consistency.Wrap(lagging, consistency.Options{
		Window:  2 * time.Minute,  // remember changes longer than the backend lags
		MaxWait: 10 * time.Second, // then give up with a *StaleError
	})

	ctx := context.Background()
	tag := "/docker/registry/v2/repositories/app/_manifests/tags/latest/current/link"
	if err := d.PutContent(ctx, tag, []byte("sha256:1d2b")); err != nil {
		fmt.Println(err)
		return
	}

	// The backend alone would still answer "path not found" here.
	link, err := d.GetContent(ctx, tag)
	fmt.Printf("%s %v\n", link, err)
	tags, err := d.List(ctx, "/docker/registry/v2/repositories/app/_manifests/tags")
	fmt.Println(tags, err)

	if err := d.Delete(ctx, "/docker/registry/v2/repositories/app"); err != nil {
		fmt.Println(err)
		return
	}
	_, err = d.Stat(ctx, tag)
	fmt.Println(err)
	// Output:
	// sha256:1d2b <nil>
	// [/docker/registry/v2/repositories/app/_manifests/tags/latest] <nil>
	// inmemory: path not found: /docker/registry/v2/repositories/app/_manifests/tags/latest/current/link
}

// ExampleStaleError shows the error a read gives when the backend has not
// caught up within Options.MaxWait: it matches ErrStale, and not
// driver.PathNotFoundError, since the file is there, only late.
func ExampleStaleError() {
	lagging := conformance.NewEventual(inmemory.New(), conformance.EventualOptions{CreateLag: time.Hour})
	d := consistency.Wrap(lagging, consistency.Options{MaxWait: 50 * time.Millisecond})

	ctx := context.Background()
	if err := d.PutContent(ctx, "/blob", []byte("data")); err != nil {
		fmt.Println(err)
		return
	}
	_, err := d.GetContent(ctx, "/blob")
	var stale *consistency.StaleError
	if errors.As(err, &stale) {
		fmt.Println(errors.Is(err, consistency.ErrStale), stale.Op, stale.Path)
		fmt.Println("got:", stale.Got)
		fmt.Println("want:", stale.Want)
	}
	// Output:
	// true GetContent /blob
	// got: path not found
	// want: the 4 bytes this process wrote
}
