package registry

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stowage-dev/stowage/driver"
)

// Upload is a blob upload in progress (or abandoned) in a repository:
// the directory repositories/<name>/_uploads/<id>.
type Upload struct {
	// Dir is the upload's directory.
	Dir        string `json:"dir"`
	Repository string `json:"repository"`
	ID         string `json:"id"`
	// Started is the time the registry wrote in its startedat file; zero
	// when that file is missing or unreadable (StartedErr says why).
	Started    time.Time `json:"started"`
	StartedErr string    `json:"started_error,omitempty"`
	// Size is the size of the upload's files; Files their number.
	Size  int64 `json:"size"`
	Files int   `json:"files"`
}

// Uploads lists the uploads of every repository under root ("" means
// RootPath) with one flat Walk of repositories/ and a read of each
// upload's startedat file.
func Uploads(ctx context.Context, d driver.StorageDriver, root string, concurrency int) ([]Upload, error) {
	if root == "" {
		root = RootPath
	}
	if err := driver.ValidateDirPath("registry", root); err != nil {
		return nil, err
	}
	byDir := map[string]*Upload{}
	var dirs []string
	prefix := root + "/repositories/"
	err := d.Walk(ctx, root+"/repositories", func(fi driver.FileInfo) error {
		if fi.IsDir() {
			return nil
		}
		rel := strings.TrimPrefix(fi.Path(), prefix)
		i := strings.Index(rel, "/_uploads/")
		if i <= 0 {
			return nil
		}
		id, _, ok := strings.Cut(rel[i+len("/_uploads/"):], "/")
		if !ok {
			return nil
		}
		dir := prefix + rel[:i] + "/_uploads/" + id
		u := byDir[dir]
		if u == nil {
			u = &Upload{Dir: dir, Repository: rel[:i], ID: id}
			byDir[dir] = u
			dirs = append(dirs, dir)
		}
		u.Files++
		u.Size += fi.Size()
		return nil
	})
	if driver.IsNotFound(err) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(dirs)
	out := make([]Upload, len(dirs))
	err = driver.ForEach(ctx, len(dirs), max(concurrency, 1), func(ctx context.Context, i int) error {
		u := byDir[dirs[i]]
		b, err := d.GetContent(ctx, u.Dir+"/startedat")
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			u.StartedErr = err.Error()
		default:
			t, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
			if perr != nil {
				u.StartedErr = fmt.Sprintf("startedat %q: %v", b, perr)
			}
			u.Started = t
		}
		out[i] = *u
		return nil
	})
	return out, err
}
