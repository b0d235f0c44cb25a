package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/stowage-dev/stowage/driver"
	"github.com/stowage-dev/stowage/registry"
)

const uploadsUsage = `Usage: stowage uploads list|purge [flags]

Lists, or purges, the uploads left behind: the registry's own blob uploads
(repositories/<name>/_uploads/<id>, aged by their startedat file) and the
backend's staged upload state (S3 multipart uploads and stowage's tails, GCS
parts, filesystem staging, ...: driver.UploadStager). purge removes those
older than --older-than (uploads whose age is unknown are kept and listed);
--dry-run shows what it would remove. Purge with the registry stopped, or
with --older-than well above the longest push, as distribution advises. For
s3 and gcs it also prints the bucket lifecycle rule that does the same
server-side.

Flags:
`

// uploadRow is one upload listed by stowage uploads.
type uploadRow struct {
	Kind    string    `json:"kind"` // "registry" or "staged"
	Path    string    `json:"path"`
	Started time.Time `json:"started"`
	AgeSecs float64   `json:"age_seconds"`
	Size    int64     `json:"size"`
	Old     bool      `json:"old"`
	Purged  bool      `json:"purged"`
	// Error says why the age is unknown, or why the purge failed.
	Error       string `json:"error,omitempty"`
	purgeFailed bool

	upload *registry.Upload
	staged *driver.StagedUpload
}

func runUploads(ctx context.Context, args []string, a *app) int {
	if len(args) == 0 || (args[0] != "list" && args[0] != "purge" && args[0] != "-h" && args[0] != "--help" && args[0] != "-help") {
		fmt.Fprintln(a.stderr, "stowage uploads: want list or purge (stowage uploads -h for help)")
		return exitUsage
	}
	sub := args[0]
	if strings.HasPrefix(sub, "-") {
		sub = "list"
	} else {
		args = args[1:]
	}
	var (
		root      string
		olderThan time.Duration
		dryRun    bool
	)
	o, _, code := fileCommand("uploads "+sub, uploadsUsage, args, a, 0, func(fs *flag.FlagSet) {
		fs.StringVar(&root, "root", registry.RootPath, "the registry's root `path` in the store")
		fs.DurationVar(&olderThan, "older-than", 168*time.Hour, "purge (and mark) uploads started longer than this `duration` ago")
		fs.BoolVar(&dryRun, "dry-run", false, "purge: show what would be purged, remove nothing")
	})
	if code >= 0 {
		return code
	}
	if olderThan <= 0 {
		fmt.Fprintf(a.stderr, "stowage uploads: --older-than must be positive, got %v\n", olderThan)
		return exitUsage
	}
	purge := sub == "purge" && !dryRun
	return withBackend(ctx, "uploads", o, a, func(s *session, log *slog.Logger) error {
		now := a.clock()
		rows, err := listUploads(ctx, s.d, root, o.concurrency, now, olderThan)
		if err != nil {
			return err
		}
		failed := 0
		if purge {
			err := driver.ForEach(ctx, len(rows), o.concurrency, func(ctx context.Context, i int) error {
				r := &rows[i]
				if !r.Old {
					return nil
				}
				var perr error
				if r.upload != nil {
					perr = s.d.Delete(ctx, r.upload.Dir)
					if driver.IsNotFound(perr) {
						perr = nil
					}
				} else {
					perr = s.d.(driver.UploadStager).PurgeStagedUpload(ctx, *r.staged)
				}
				if perr != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					r.Error, r.purgeFailed = perr.Error(), true
					return nil
				}
				r.Purged = true
				return nil
			})
			if err != nil {
				return err
			}
			for _, r := range rows {
				if r.purgeFailed {
					failed++
				}
			}
		}
		if err := writeUploads(a.stdout, o.json, s.choice.name, sub, dryRun, rows); err != nil {
			return err
		}
		if rule := lifecycleRule(s, olderThan); rule != "" && !o.json {
			fmt.Fprintf(a.stdout, "\nThe %s lifecycle rule that purges the backend's staged state server-side:\n%s\n", s.choice.name, rule)
		}
		if failed > 0 {
			return fmt.Errorf("%d uploads not purged", failed)
		}
		return nil
	})
}

// listUploads lists the registry's uploads and the backend's staged ones,
// marking those started more than olderThan before now.
func listUploads(ctx context.Context, d driver.StorageDriver, root string, concurrency int, now time.Time, olderThan time.Duration) ([]uploadRow, error) {
	ups, err := registry.Uploads(ctx, d, root, concurrency)
	if err != nil {
		return nil, err
	}
	var rows []uploadRow
	add := func(r uploadRow) {
		if !r.Started.IsZero() {
			r.AgeSecs = now.Sub(r.Started).Seconds()
			r.Old = now.Sub(r.Started) > olderThan
		}
		rows = append(rows, r)
	}
	for i := range ups {
		u := &ups[i]
		add(uploadRow{Kind: "registry", Path: u.Dir, Started: u.Started, Size: u.Size, Error: u.StartedErr, upload: u})
	}
	if st, ok := d.(driver.UploadStager); ok {
		staged, err := st.StagedUploads(ctx)
		if err != nil {
			return nil, err
		}
		for i := range staged {
			u := &staged[i]
			add(uploadRow{Kind: "staged", Path: u.Path, Started: u.Started, Size: u.Size, staged: u})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Started.Before(rows[j].Started) })
	return rows, nil
}

func writeUploads(w io.Writer, asJSON bool, backend, sub string, dryRun bool, rows []uploadRow) error {
	if asJSON {
		if rows == nil {
			rows = []uploadRow{}
		}
		return printJSON(w, backend, "uploads", rows)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tAGE\tSIZE\tSTATE\tPATH")
	var old, purged int
	for _, r := range rows {
		age := "unknown"
		if !r.Started.IsZero() {
			age = fmtDuration(time.Duration(r.AgeSecs * float64(time.Second)).Round(time.Second))
		}
		state := "kept"
		switch {
		case r.Purged:
			state, purged = "purged", purged+1
		case r.purgeFailed:
			state = "failed: " + r.Error
		case r.Old && sub == "purge" && dryRun:
			state = "would purge"
		case r.Old:
			state = "old"
		case r.Error != "":
			state = "kept: " + r.Error
		}
		if r.Old {
			old++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Kind, age, fmtBytes(r.Size), state, r.Path)
	}
	fmt.Fprintf(tw, "\n%d uploads, %d older than the cut-off, %d purged\n", len(rows), old, purged)
	return tw.Flush()
}

// lifecycleRule is the bucket lifecycle rule of s3 and gcs that removes
// the backend's staged state older than olderThan, or "".
func lifecycleRule(s *session, olderThan time.Duration) string {
	days := max(1, int(math.Ceil(olderThan.Hours()/24)))
	root := strings.Trim(fmt.Sprint(s.choice.params["rootdirectory"]), "/")
	if s.choice.params["rootdirectory"] == nil || root == "" {
		root = ""
	} else {
		root += "/"
	}
	hidden := driver.CapabilitiesOf(s.d).HiddenPrefix
	switch s.choice.name {
	case "s3":
		return fmt.Sprintf(`{"Rules": [
  {"ID": "stowage-abort-incomplete-uploads", "Status": "Enabled", "Filter": {"Prefix": %q},
   "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": %d}},
  {"ID": "stowage-expire-staged-objects", "Status": "Enabled", "Filter": {"Prefix": %q},
   "Expiration": {"Days": %d}}]}
(aws s3api put-bucket-lifecycle-configuration --bucket BUCKET --lifecycle-configuration file://rule.json)`, root, days, root+hidden, days)
	case "gcs":
		return fmt.Sprintf(`{"rule": [{"action": {"type": "Delete"}, "condition": {"age": %d, "matchesPrefix": [%q]}}]}
(gcloud storage buckets update gs://BUCKET --lifecycle-file=rule.json)`, days, root+hidden)
	}
	return ""
}
