package driver

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Params reads distribution-style parameters. Values may come typed (from
// Go code or YAML) or as strings (from environment variables or flags), so
// each getter accepts both. Missing keys give the default; a value of the
// wrong kind gives a *ConfigError naming the parameter.
type Params struct {
	DriverName string
	Values     map[string]any
}

// String returns the string parameter key, or def when absent.
func (p Params) String(key, def string) (string, error) {
	v, ok := p.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case fmt.Stringer:
		return v.String(), nil
	}
	return "", p.errorf(key, "want a string, got %T", v)
}

// Bool returns the boolean parameter key ("true"/"false" accepted), or def.
func (p Params) Bool(key string, def bool) (bool, error) {
	v, ok := p.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if v == "" {
			return def, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, p.errorf(key, "want true or false, got %q", v)
		}
		return b, nil
	}
	return false, p.errorf(key, "want a boolean, got %T", v)
}

// Int64 returns the integer parameter key, or def. Strings may carry a
// size suffix (k, m, g for powers of 1024, case-insensitive, "mb" too).
func (p Params) Int64(key string, def int64) (int64, error) {
	v, ok := p.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case int:
		return int64(v), nil
	case int32:
		return int64(v), nil
	case int64:
		return v, nil
	case uint:
		return int64(v), nil
	case uint32:
		return int64(v), nil
	case uint64:
		return int64(v), nil
	case float64:
		if v != float64(int64(v)) {
			return 0, p.errorf(key, "want a whole number, got %v", v)
		}
		return int64(v), nil
	case string:
		if v == "" {
			return def, nil
		}
		n, err := parseSize(v)
		if err != nil {
			return 0, p.errorf(key, "want a whole number, got %q", v)
		}
		return n, nil
	}
	return 0, p.errorf(key, "want a whole number, got %T", v)
}

// Int is Int64 for int-sized settings.
func (p Params) Int(key string, def int) (int, error) {
	n, err := p.Int64(key, int64(def))
	return int(n), err
}

// Duration returns the duration parameter key ("1m30s", or a number of
// seconds), or def.
func (p Params) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := p.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case time.Duration:
		return v, nil
	case int:
		return time.Duration(v) * time.Second, nil
	case int64:
		return time.Duration(v) * time.Second, nil
	case float64:
		return time.Duration(v * float64(time.Second)), nil
	case string:
		if v == "" {
			return def, nil
		}
		if d, err := time.ParseDuration(v); err == nil {
			return d, nil
		}
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return time.Duration(n * float64(time.Second)), nil
		}
		return 0, p.errorf(key, "want a duration such as 30s, got %q", v)
	}
	return 0, p.errorf(key, "want a duration, got %T", v)
}

// Positive64 returns the integer parameter key, or 0 when absent; a value
// given that is not positive is a *ConfigError.
func (p Params) Positive64(key string) (int64, error) {
	n, err := p.Int64(key, 0)
	if err != nil {
		return 0, err
	}
	if v, ok := p.Values[key]; ok && v != nil && v != "" && n <= 0 {
		return 0, p.errorf(key, "must be positive, got %d", n)
	}
	return n, nil
}

// Positive is Positive64 for int-sized settings.
func (p Params) Positive(key string) (int, error) {
	n, err := p.Positive64(key)
	return int(n), err
}

// HTTPClient returns the *http.Client under HTTPClientParam, or nil.
func (p Params) HTTPClient() (*http.Client, error) {
	v, ok := p.Values[HTTPClientParam]
	if !ok || v == nil {
		return nil, nil
	}
	hc, ok := v.(*http.Client)
	if !ok {
		return nil, p.errorf(HTTPClientParam, "want an *http.Client, got %T", v)
	}
	return hc, nil
}

// Fields reads parameters into the fields of a Config, one line a
// setting, keeping the first error (see Fields.Err). A parameter that is
// absent leaves its field as it is, so defaults are set first.
func (p Params) Fields() *Fields { return &Fields{p: p} }

// Fields is a reader of parameters into fields; see Params.Fields.
type Fields struct {
	p   Params
	err error
}

// Err returns the first error of the reads so far.
func (f *Fields) Err() error { return f.err }

// String reads the string parameter key into dst.
func (f *Fields) String(key string, dst *string) {
	if f.err == nil {
		*dst, f.err = f.p.String(key, *dst)
	}
}

// Bool reads the boolean parameter key into dst.
func (f *Fields) Bool(key string, dst *bool) {
	if f.err == nil {
		*dst, f.err = f.p.Bool(key, *dst)
	}
}

// Int reads the integer parameter key into dst.
func (f *Fields) Int(key string, dst *int) {
	if f.err == nil {
		*dst, f.err = f.p.Int(key, *dst)
	}
}

// Positive reads the integer parameter key, which must be positive when
// given, into dst.
func (f *Fields) Positive(key string, dst *int) {
	if f.err == nil {
		if _, given := f.p.Values[key]; given {
			*dst, f.err = f.p.Positive(key)
		}
	}
}

// Positive64 is Positive for an int64 field (sizes).
func (f *Fields) Positive64(key string, dst *int64) {
	if f.err == nil {
		if _, given := f.p.Values[key]; given {
			*dst, f.err = f.p.Positive64(key)
		}
	}
}

// Duration reads the duration parameter key into dst.
func (f *Fields) Duration(key string, dst *time.Duration) {
	if f.err == nil {
		*dst, f.err = f.p.Duration(key, *dst)
	}
}

func (p Params) errorf(key, format string, args ...any) error {
	return &ConfigError{DriverName: p.DriverName, Parameter: key, Err: fmt.Errorf(format, args...)}
}

func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gib", 1 << 30}, {"gb", 1 << 30}, {"g", 1 << 30}, {"mib", 1 << 20}, {"mb", 1 << 20}, {"m", 1 << 20}, {"kib", 1 << 10}, {"kb", 1 << 10}, {"k", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return n * mult, nil
}
