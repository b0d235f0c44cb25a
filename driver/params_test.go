package driver

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestParams(t *testing.T) {
	p := Params{DriverName: "x", Values: map[string]any{
		"s": "v", "b": "true", "b2": false, "i": 7, "is": "5mb", "f": float64(3),
		"d": "1m", "ds": 30, "bad": []int{1},
	}}
	if v, _ := p.String("s", ""); v != "v" {
		t.Error("String")
	}
	if v, _ := p.String("missing", "def"); v != "def" {
		t.Error("String default")
	}
	if v, _ := p.Bool("b", false); !v {
		t.Error("Bool from string")
	}
	if v, _ := p.Bool("b2", true); v {
		t.Error("Bool")
	}
	if v, _ := p.Int("i", 0); v != 7 {
		t.Error("Int")
	}
	if v, _ := p.Int64("is", 0); v != 5<<20 {
		t.Errorf("Int64 size suffix: %d", v)
	}
	if v, _ := p.Int("f", 0); v != 3 {
		t.Error("Int from float")
	}
	if v, _ := p.Duration("d", 0); v != time.Minute {
		t.Error("Duration")
	}
	if v, _ := p.Duration("ds", 0); v != 30*time.Second {
		t.Error("Duration seconds")
	}
	for _, f := range []func() error{
		func() error { _, err := p.String("bad", ""); return err },
		func() error { _, err := p.Bool("s", false); return err },
		func() error { _, err := p.Int("s", 0); return err },
		func() error { _, err := p.Duration("s", 0); return err },
	} {
		var ce *ConfigError
		if err := f(); !errors.As(err, &ce) || ce.DriverName != "x" || ce.Parameter == "" {
			t.Errorf("want *ConfigError naming the parameter, got %v", err)
		}
	}
}

func TestRegistry(t *testing.T) {
	Register("registry-test", func(ctx context.Context, params map[string]any) (StorageDriver, error) {
		return nil, errors.New("built")
	})
	if _, err := Open(context.Background(), "registry-test", nil); err == nil || err.Error() != "built" {
		t.Fatalf("Open = %v", err)
	}
	var ce *ConfigError
	if _, err := Open(context.Background(), "no-such-backend", nil); !errors.As(err, &ce) {
		t.Fatalf("Open unknown = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("second Register did not panic")
		}
	}()
	Register("registry-test", func(context.Context, map[string]any) (StorageDriver, error) { return nil, nil })
}

func TestErrorsMatch(t *testing.T) {
	err := error(&UnsupportedMethodError{DriverName: "x", Method: "URLFor"})
	if !errors.Is(err, ErrUnsupportedMethod) {
		t.Error("UnsupportedMethodError does not match ErrUnsupportedMethod")
	}
	cause := errors.New("slow down")
	if !errors.Is(&TooManyRequestsError{DriverName: "x", Cause: cause}, cause) {
		t.Error("TooManyRequestsError hides its cause")
	}
	for _, e := range []error{
		&PathNotFoundError{Path: "/a", DriverName: "x"},
		&InvalidPathError{Path: "/a", DriverName: "x"},
		&InvalidOffsetError{Path: "/a", Offset: 3, DriverName: "x"},
		&ConfigError{DriverName: "x", Err: cause},
	} {
		if msg := e.Error(); len(msg) < 3 || msg[:2] != "x:" {
			t.Errorf("%T message %q does not name the driver", e, msg)
		}
	}
}
