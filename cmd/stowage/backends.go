package main

// The backends stowage bench can open by name: importing a backend package
// registers it with driver.Register. A new backend is one more line here.
import (
	_ "github.com/stowage-dev/stowage/azure"
	_ "github.com/stowage-dev/stowage/filesystem"
	_ "github.com/stowage-dev/stowage/gcs"
	_ "github.com/stowage-dev/stowage/inmemory"
	_ "github.com/stowage-dev/stowage/s3"
	_ "github.com/stowage-dev/stowage/swift"
)
