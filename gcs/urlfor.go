package gcs

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloud.google.com/go/storage"

	"github.com/stowage-dev/stowage/driver"
)

// URLFor implements driver.StorageDriver with a V4 signed GET or HEAD URL
// (option "method", default GET) valid until option "expiry" (a time.Time;
// default DefaultURLExpiry from now, at most MaxURLExpiry). It signs
// locally with Config.GoogleAccessID and Config.PrivateKey (a service
// account key from keyfile or credentials) and sends no request: it does
// not check that the file exists. Without a key, as with Application
// Default Credentials on a VM, it returns an error matching
// driver.ErrUnsupportedMethod, as distribution's GCS driver does; so does
// any method but GET and HEAD. With an emulator endpoint the URL points at
// the emulator (http when the endpoint is http).
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
	if method != http.MethodGet && method != http.MethodHead {
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
	if d.cfg.GoogleAccessID == "" {
		return "", &driver.UnsupportedMethodError{DriverName: DriverName,
			Method: "URLFor (no service account key to sign with: set keyfile or credentials)"}
	}
	opts := &storage.SignedURLOptions{
		GoogleAccessID: d.cfg.GoogleAccessID,
		PrivateKey:     d.cfg.PrivateKey,
		Method:         method,
		Expires:        expires,
		Scheme:         storage.SigningSchemeV4,
		Style:          storage.PathStyle(),
	}
	if d.cfg.Endpoint != DefaultEndpoint {
		u, err := url.Parse(d.cfg.Endpoint)
		if err != nil {
			return "", fmt.Errorf("%s: URLFor %s: %w", DriverName, path, err)
		}
		opts.Hostname = u.Host
		opts.Insecure = u.Scheme == "http"
	}
	s, err := storage.SignedURL(d.cfg.Bucket, d.key(path), opts)
	if err != nil {
		return "", fmt.Errorf("%s: URLFor %s: %w", DriverName, path, err)
	}
	return s, nil
}
