package inmemory_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/inmemory"
)

func Example() {
	ctx := context.Background()
	d := inmemory.New()
	_ = d.PutContent(ctx, "/docker/registry/v2/blobs/sha256/ab/abcd/data", []byte("layer"))
	_ = d.PutContent(ctx, "/docker/registry/v2/blobs/sha256/ab/abce/data", []byte("layer"))

	n, err := d.DeleteFiles(ctx, []string{
		"/docker/registry/v2/blobs/sha256/ab/abcd/data",
		"/docker/registry/v2/blobs/sha256/ab/abcd/data", // duplicates fold
		"/docker/registry/v2/blobs/sha256/ff/ffff/data", // absent counts as deleted
	})
	fmt.Println(n, err)

	_, err = d.GetContent(ctx, "/docker/registry/v2/blobs/sha256/ab/abcd/data")
	var nf *driver.PathNotFoundError
	fmt.Println(errors.As(err, &nf))
	// Output:
	// 2 <nil>
	// true
}

func Example_open() {
	d, err := driver.Open(context.Background(), "inmemory", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name())
	// Output: inmemory
}
