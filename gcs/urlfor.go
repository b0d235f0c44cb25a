package gcs

import (
	"context"
	"time"

	"cloud.google.com/go/storage"
)

// SignURL implements driver.Backend with a V4 signed URL (the Store's
// URLFor checks the "method" and "expiry" options; GCS accepts an expiry
// of at most MaxURLExpiry). It signs locally with Config.GoogleAccessID
// and Config.PrivateKey (a service account key from keyfile or
// credentials) and sends no request. Without a key, as with Application
// Default Credentials on a VM, the driver does not report
// Capabilities.SignedURLs, so URLFor returns an error matching
// driver.ErrUnsupportedMethod, as distribution's GCS driver does. With an
// emulator endpoint the URL points at the emulator (http when the
// endpoint is http).
func (b *backend) SignURL(_ context.Context, path, method string, expires time.Time) (string, error) {
	return storage.SignedURL(b.cfg.Bucket, b.keys.Key(path), &storage.SignedURLOptions{
		GoogleAccessID: b.cfg.GoogleAccessID,
		PrivateKey:     b.cfg.PrivateKey,
		Method:         method,
		Expires:        expires,
		Scheme:         storage.SigningSchemeV4,
		Style:          storage.PathStyle(),
		Hostname:       b.signHost,
		Insecure:       b.signInsecure,
	})
}
