// Command registry is distribution's registry with stowage's storage
// drivers linked in: the whole program is the blank import of
// github.com/stowage-dev/stowage/distribution and distribution's own
// registry.NewRegistry. Its config.yml names a stowage driver
// (stowage-s3, stowage-gcs, stowage-azure, stowage-swift,
// stowage-filesystem or stowage-inmemory) as its storage driver; see
// config.yml beside this file, which uses testenv's MinIO. ${NAME}
// references in the file are replaced by environment variables before it is
// parsed.
//
//	go run ./example/registry config.yml
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry"

	_ "github.com/stowage-dev/stowage/distribution" // registers stowage-s3, stowage-gcs, ...
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: registry config.yml")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "registry:", err)
		os.Exit(1)
	}
}

func run(configPath string) error {
	b, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	config, err := configuration.Parse(strings.NewReader(os.ExpandEnv(string(b))))
	if err != nil {
		return fmt.Errorf("%s: %w", configPath, err)
	}
	reg, err := registry.NewRegistry(context.Background(), config)
	if err != nil {
		return err
	}
	return reg.ListenAndServe()
}
