package filesystem_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/filesystem"
)

func Example() {
	dir, _ := os.MkdirTemp("", "stowage-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	d, err := filesystem.New(ctx, filesystem.Config{RootDirectory: dir})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	const path = "/docker/registry/v2/repositories/app/_manifests/tags/latest/current/link"
	if err := d.PutContent(ctx, path, []byte("sha256:abcd")); err != nil {
		fmt.Println(err)
		return
	}
	content, err := d.GetContent(ctx, path)
	fmt.Println(string(content), err)

	// Deleting the only file prunes its now empty directories.
	n, err := d.DeleteFiles(ctx, []string{path})
	fmt.Println(n, err)
	top, err := d.List(ctx, "/")
	fmt.Println(top, err)
	// Output:
	// sha256:abcd <nil>
	// 1 <nil>
	// [] <nil>
}

func Example_open() {
	dir, _ := os.MkdirTemp("", "stowage-example-")
	defer os.RemoveAll(dir)

	// The parameters of a registry's storage.filesystem section.
	d, err := driver.Open(context.Background(), "filesystem", map[string]any{
		"rootdirectory": filepath.Join(dir, "registry"),
		"maxthreads":    100,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name())
	_, err = d.Stat(context.Background(), "/")
	fmt.Println(err)
	// Output:
	// filesystem
	// <nil>
}
