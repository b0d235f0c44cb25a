package swift_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/internal/cloudtest"
	"github.com/stowage-dev/stowage/swift"
)

// A writer whose upload would need more segments than a file can have
// (max_manifest_segments squared: 2² = 4 here) fails at the Write that
// would upload the fifth segment, with a *swift.TooManySegmentsError and
// before uploading it, not at Commit; what it has stays committable.
func TestWriterTooManySegments(t *testing.T) {
	root := freshRoot(t)
	m := newIndependent(t)
	ctx := context.Background()
	d, _ := writerDriver(t, root, func(c *configT) { c.MaxManifestSegments = 2 })
	w, err := d.Writer(ctx, "/huge", false)
	if err != nil {
		t.Fatal(err)
	}
	content := cloudtest.PatternBytes(5*mib + 1)
	_, err = w.Write(content)
	var tm *swift.TooManySegmentsError
	if !errors.As(err, &tm) {
		t.Fatalf("Write of a fifth segment with max_manifest_segments 2 = %v, want a *swift.TooManySegmentsError", err)
	}
	if tm.Segment != 5 || tm.Limit != 4 {
		t.Errorf("TooManySegmentsError = %+v, want segment 5 of limit 4", tm)
	}
	if !errors.Is(err, driver.ErrFileTooLarge) {
		t.Errorf("Write of a fifth segment = %v, which does not match driver.ErrFileTooLarge", err)
	}
	if segs := m.names(m.segments, root+"/"); len(segs) != 4 {
		t.Errorf("%d segments stored, want the 4 that fit", len(segs))
	}
	if err := w.Cancel(ctx); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
}

// Swift documents no maximum lifetime of a temp URL (the tempurl
// middleware checks only that temp_url_expires has not passed), so the
// driver sets no Capabilities.MaxURLExpiry and signs the expiry asked for,
// however far away.
func TestURLForExpiryUncapped(t *testing.T) {
	root := freshRoot(t)
	cfg := testConfig(t, root, nil)
	cfg.SecretKey = "k"
	d := newDriver(t, cfg)
	if got := d.Capabilities().MaxURLExpiry; got != 0 {
		t.Errorf("MaxURLExpiry = %v, want none", got)
	}
	expiry := time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	u, err := d.URLFor(context.Background(), "/f", map[string]any{"expiry": expiry})
	if err != nil {
		t.Fatal(err)
	}
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if got := pu.Query().Get("temp_url_expires"); got != strconv.FormatInt(expiry.Unix(), 10) {
		t.Errorf("temp_url_expires = %s, want %d (90 days ahead, as asked)", got, expiry.Unix())
	}
}
