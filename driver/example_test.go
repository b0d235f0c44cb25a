package driver_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/stowage-dev/stowage/driver"
	_ "github.com/stowage-dev/stowage/inmemory" // registers "inmemory"
)

// Open builds a backend by name from distribution-style parameters;
// DeleteFiles reports every path it could not delete in one error.
func ExampleOpen() {
	ctx := context.Background()
	d, err := driver.Open(ctx, "inmemory", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = d.PutContent(ctx, "/repo/_manifests/tags/v1/current/link", []byte("sha256:abc"))

	n, err := d.DeleteFiles(ctx, []string{"/repo/_manifests/tags/v1/current/link", "/repo/gone"})
	var failed *driver.DeleteFilesError
	switch {
	case errors.As(err, &failed):
		for _, f := range failed.Failures {
			fmt.Println("not deleted:", f.Path, f.Err)
		}
	case err != nil:
		fmt.Println(err) // e.g. an *driver.InvalidPathError: nothing was deleted
	}
	fmt.Println("deleted", n)

	_, err = d.Stat(ctx, "/repo")
	var nf *driver.PathNotFoundError
	fmt.Println("directory gone:", errors.As(err, &nf))
	// Output:
	// deleted 2
	// directory gone: true
}

// Walk visits a directory before its contents, in the order an object
// store lists keys; ErrSkipDir leaves a directory out.
func ExampleStorageDriver_walk() {
	ctx := context.Background()
	d, _ := driver.Open(ctx, "inmemory", nil)
	for _, p := range []string{"/a/x", "/a/skip/y", "/a.txt", "/b"} {
		_ = d.PutContent(ctx, p, []byte("data"))
	}
	_ = d.Walk(ctx, "/", func(fi driver.FileInfo) error {
		fmt.Println(driver.WalkKey(fi.Path(), fi.IsDir()))
		if fi.Path() == "/a/skip" {
			return driver.ErrSkipDir
		}
		return nil
	})
	// Output:
	// /a.txt
	// /a/
	// /a/skip/
	// /a/x
	// /b
}
