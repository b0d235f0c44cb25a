package driver

import (
	"fmt"
	"log/slog"
	"net/http"
	"sort"
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

// String returns the string parameter key, or def when absent. A number
// or boolean (as YAML reads "tenantid: 123456") is taken as written.
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
	case int, int32, int64, uint, uint32, uint64, bool:
		// YAML reads "tenantid: 123456" as a number.
		return fmt.Sprint(v), nil
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), nil
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

// Fields is a reader of parameters into fields; see Params.Fields. It
// remembers every key it was asked about, so that Done can name the
// parameters nobody read.
type Fields struct {
	p       Params
	err     error
	seen    map[string]bool
	missing []string
	logger  *slog.Logger
}

// Require records that the parameters keys must be given (not empty);
// Done then reports every one missing, together, in one error.
func (f *Fields) Require(keys ...string) {
	for _, k := range keys {
		if !f.mark(k) || f.p.Values[k] == "" {
			f.missing = append(f.missing, k)
		}
	}
}

// Err returns the first error of the reads so far.
func (f *Fields) Err() error { return f.err }

// Done ends the reading: it returns the first error, if any, else a
// *ConfigError wrapping a *MissingParametersError that names every
// parameter Require found missing, and
// otherwise logs one warning (to the driver's logger, the "logger"
// parameter or slog.Default) listing the parameters that were given but
// that no read, Value or Reject asked about: stowage does not know them,
// and, as distribution does, it goes on without them.
func (f *Fields) Done() error {
	if f.err != nil {
		return f.err
	}
	if len(f.missing) > 0 {
		return &ConfigError{DriverName: f.p.DriverName, Parameter: f.missing[0],
			Err: &MissingParametersError{Parameters: f.missing}}
	}
	if unknown := f.Unknown(); len(unknown) > 0 {
		f.log().Warn(f.p.DriverName+": unknown parameters ignored: "+strings.Join(unknown, ", "),
			"driver", f.p.DriverName, "parameters", unknown)
	}
	return nil
}

// Unknown returns, sorted, the parameters given that no read, Value or
// Reject asked about so far.
func (f *Fields) Unknown() []string {
	var unknown []string
	for k := range f.p.Values {
		if !f.seen[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	return unknown
}

// log is the logger of the warnings about parameters.
func (f *Fields) log() *slog.Logger {
	if f.logger != nil {
		return f.logger
	}
	return slog.Default()
}

// mark records that key was asked about and reports whether it was given.
func (f *Fields) mark(key string) bool {
	if f.seen == nil {
		f.seen = map[string]bool{}
	}
	f.seen[key] = true
	v, ok := f.p.Values[key]
	return ok && v != nil
}

// Value returns the raw value of parameter key and whether it was given
// (not nil), for settings no typed read fits (maps such as
// "credentials").
func (f *Fields) Value(key string) (any, bool) {
	if !f.mark(key) {
		return nil, false
	}
	return f.p.Values[key], true
}

// Reject fails the reading with a *ConfigError naming key when the
// parameter is given (and not empty): for distribution parameters the
// backend knows but does not support, which must never be ignored
// silently. why says what to do instead.
func (f *Fields) Reject(key, why string) {
	if f.mark(key) && f.err == nil && f.p.Values[key] != "" {
		f.err = f.p.errorf(key, "not supported: %s", why)
	}
}

// Fail sets the reading's error, unless it has one already: a check of the
// backend's own about parameter key.
func (f *Fields) Fail(key, format string, args ...any) {
	if f.err == nil {
		f.err = f.p.errorf(key, format, args...)
	}
}

// String reads the string parameter key into dst.
func (f *Fields) String(key string, dst *string) {
	f.mark(key)
	if f.err == nil {
		*dst, f.err = f.p.String(key, *dst)
	}
}

// Bool reads the boolean parameter key into dst.
func (f *Fields) Bool(key string, dst *bool) {
	f.mark(key)
	if f.err == nil {
		*dst, f.err = f.p.Bool(key, *dst)
	}
}

// Int reads the integer parameter key into dst.
func (f *Fields) Int(key string, dst *int) {
	f.mark(key)
	if f.err == nil {
		*dst, f.err = f.p.Int(key, *dst)
	}
}

// Positive reads the integer parameter key, which must be positive when
// given, into dst.
func (f *Fields) Positive(key string, dst *int) {
	if f.mark(key) && f.err == nil {
		*dst, f.err = f.p.Positive(key)
	}
}

// Positive64 is Positive for an int64 field (sizes).
func (f *Fields) Positive64(key string, dst *int64) {
	if f.mark(key) && f.err == nil {
		*dst, f.err = f.p.Positive64(key)
	}
}

// Float reads the number parameter key into dst.
func (f *Fields) Float(key string, dst *float64) {
	f.mark(key)
	if f.err == nil {
		*dst, f.err = f.p.Float(key, *dst)
	}
}

// Duration reads the duration parameter key into dst.
func (f *Fields) Duration(key string, dst *time.Duration) {
	f.mark(key)
	if f.err == nil {
		*dst, f.err = f.p.Duration(key, *dst)
	}
}

// LowerKeys returns params with every key in lower case, as distribution
// spells its parameters: a key written in another case ("RootDirectory")
// is honoured under its lower-case name, with a warning to log, so that it
// is never ignored without a word. Two keys that differ only in case are
// a *ConfigError naming both.
func LowerKeys(driverName string, params map[string]any, log *slog.Logger) (map[string]any, error) {
	if log == nil {
		log = slog.Default()
	}
	out := make(map[string]any, len(params))
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	from := map[string]string{}
	for _, k := range keys {
		lk := strings.ToLower(k)
		if other, dup := from[lk]; dup {
			return nil, &ConfigError{DriverName: driverName, Parameter: lk,
				Err: fmt.Errorf("given twice, as %q and %q", other, k)}
		}
		from[lk] = k
		if lk != k {
			log.Warn(fmt.Sprintf("%s: parameter %q taken as %q (parameters are lower case)", driverName, k, lk),
				"driver", driverName, "parameter", k)
		}
		out[lk] = params[k]
	}
	return out, nil
}

// Float returns the number parameter key, or def.
func (p Params) Float(key string, def float64) (float64, error) {
	v, ok := p.Values[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case float64:
		return v, nil
	case float32:
		return float64(v), nil
	case string:
		if v == "" {
			return def, nil
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, p.errorf(key, "want a number, got %q", v)
		}
		return n, nil
	}
	n, err := p.Int64(key, 0)
	if err != nil {
		return 0, p.errorf(key, "want a number, got %T", v)
	}
	return float64(n), nil
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
