package filesystem_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/filesystem"
)

func TestFromParameters(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params map[string]any
		want   filesystem.Config
		bad    string // parameter a *ConfigError must name
	}{
		{"defaults", nil, filesystem.Config{RootDirectory: "/var/lib/registry", MaxThreads: 100}, ""},
		{"set", map[string]any{"rootdirectory": "/srv/r", "maxthreads": 200, "other": true}, filesystem.Config{RootDirectory: "/srv/r", MaxThreads: 200}, ""},
		{"string number", map[string]any{"maxthreads": "50"}, filesystem.Config{RootDirectory: "/var/lib/registry", MaxThreads: 50}, ""},
		{"raised to minimum", map[string]any{"maxthreads": 3}, filesystem.Config{RootDirectory: "/var/lib/registry", MaxThreads: 25}, ""},
		{"negative", map[string]any{"maxthreads": -1}, filesystem.Config{}, "maxthreads"},
		{"not a number", map[string]any{"maxthreads": "lots"}, filesystem.Config{}, "maxthreads"},
		{"root not a string", map[string]any{"rootdirectory": []string{"a"}}, filesystem.Config{}, "rootdirectory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := filesystem.FromParameters(tc.params)
			if tc.bad != "" {
				var ce *driver.ConfigError
				if !errors.As(err, &ce) || ce.Parameter != tc.bad {
					t.Fatalf("err = %v, want a ConfigError for %q", err, tc.bad)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	root := filepath.Join(t.TempDir(), "r")
	sd, err := driver.Open(context.Background(), "filesystem", map[string]any{"rootdirectory": root, "maxthreads": "30"})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := sd.(*filesystem.Driver)
	if !ok {
		t.Fatalf("Open returned %T", sd)
	}
	defer d.Close()
	if d.RootDirectory() != root || d.Name() != "filesystem" {
		t.Fatalf("RootDirectory() = %q, Name() = %q", d.RootDirectory(), d.Name())
	}
	if _, err := driver.Open(context.Background(), "filesystem", map[string]any{"maxthreads": "x"}); err == nil {
		t.Fatal("Open with a bad parameter succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := filesystem.New(ctx, filesystem.Config{RootDirectory: root}); !errors.Is(err, context.Canceled) {
		t.Fatalf("New with a cancelled context: %v", err)
	}
}

func TestFromParametersLogger(t *testing.T) {
	l := slog.New(slog.DiscardHandler)
	c, err := filesystem.FromParameters(map[string]any{"logger": l})
	if err != nil || c.Logger != l {
		t.Fatalf("logger parameter: %+v, %v", c, err)
	}
	var ce *driver.ConfigError
	if _, err := filesystem.FromParameters(map[string]any{"logger": "stderr"}); !errors.As(err, &ce) || ce.Parameter != "logger" {
		t.Fatalf("a logger that is no *slog.Logger: %v, want a *driver.ConfigError naming it", err)
	}
}
