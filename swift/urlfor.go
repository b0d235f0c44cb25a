package swift

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// URLFor implements driver.StorageDriver with a Swift temp URL (HMAC-SHA256
// over method, expiry and object path) for option "method" (GET or HEAD,
// default GET; it must be one of Config.TempURLMethods) valid until option
// "expiry" (a time.Time; default DefaultURLExpiry from now). It sends no
// request. Temp URLs need the cluster's tempurl middleware and
// Config.SecretKey set as the account's (or, with TempURLContainerKey, the
// container's) Temp-URL-Key; without a SecretKey URLFor returns a
// *driver.UnsupportedMethodError. (The project's test cluster has no
// tempurl middleware, so URLFor is unsupported there.)
func (d *Driver) URLFor(ctx context.Context, path string, options map[string]any) (string, error) {
	if err := driver.ValidatePath(DriverName, path); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	method := http.MethodGet
	if v, ok := options["method"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%s: URLFor %s: option method: want a string, got %T", DriverName, path, v)
		}
		method = strings.ToUpper(s)
	}
	if d.cfg.SecretKey == "" {
		return "", &driver.UnsupportedMethodError{DriverName: DriverName, Method: "URLFor (no temp URL key configured)"}
	}
	if !slices.Contains(d.cfg.TempURLMethods, method) {
		return "", &driver.UnsupportedMethodError{DriverName: DriverName, Method: "URLFor " + method}
	}
	expires := time.Now().Add(DefaultURLExpiry)
	if v, ok := options["expiry"]; ok && v != nil {
		t, ok := v.(time.Time)
		if !ok {
			return "", fmt.Errorf("%s: URLFor %s: option expiry: want a time.Time, got %T", DriverName, path, v)
		}
		if !t.After(time.Now()) {
			return "", fmt.Errorf("%s: URLFor %s: expiry %v is not in the future", DriverName, path, t)
		}
		expires = t
	}
	storageURL, err := d.conn.GetStorageUrl(ctx)
	if err != nil {
		return "", d.wrap(ctx, "URLFor", path, err)
	}
	u, err := url.Parse(storageURL)
	if err != nil {
		return "", fmt.Errorf("%s: URLFor %s: storage URL: %w", DriverName, path, err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + d.cfg.Container + "/" + d.name(path)
	u.RawPath = ""
	return tempURL(u, method, expires, d.cfg.SecretKey, d.cfg.AccessKey), nil
}

// tempURL signs u for method until expires.
func tempURL(u *url.URL, method string, expires time.Time, key, accessKey string) string {
	exp := expires.Unix()
	mac := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(mac, "%s\n%d\n%s", method, exp, u.Path)
	sig := hex.EncodeToString(mac.Sum(nil))
	if accessKey != "" {
		sig = accessKey + ":" + sig
	}
	q := url.Values{"temp_url_sig": {sig}, "temp_url_expires": {fmt.Sprint(exp)}}
	out := *u
	out.RawQuery = q.Encode()
	return out.String()
}
