package swift

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// SignURL implements driver.Backend with a Swift temp URL (HMAC-SHA256
// over method, expiry and object path); method must be one of
// Config.TempURLMethods. It sends no request. Temp URLs need the cluster's
// tempurl middleware and Config.SecretKey set as the account's (or, with
// TempURLContainerKey, the container's) Temp-URL-Key; without a SecretKey
// the Store reports URLFor unsupported. (The project's test cluster has no
// tempurl middleware, so URLFor is unsupported there.) Swift sets no
// maximum lifetime for a temp URL, so the Store signs any expiry asked
// for (Capabilities.MaxURLExpiry is 0; see the package documentation).
func (b *backend) SignURL(ctx context.Context, path, method string, expires time.Time) (string, error) {
	if !slices.Contains(b.cfg.TempURLMethods, method) {
		return "", &driver.UnsupportedMethodError{DriverName: DriverName, Method: "URLFor " + method}
	}
	storageURL, err := b.conn.GetStorageUrl(ctx)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(storageURL)
	if err != nil {
		return "", fmt.Errorf("storage URL: %w", err)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + b.cfg.Container + "/" + b.keys.Key(path)
	u.RawPath = ""
	return tempURL(u, method, expires, b.cfg.SecretKey, b.cfg.AccessKey), nil
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
