package driver

import "strings"

// KeyMap maps the paths of an object-store backend to object keys and
// back. A path drops its leading "/" and gains the root directory's prefix:
// with root "registry", "/docker/x" is the key "registry/docker/x". Every
// cloud backend uses it, so they all agree on what a key means.
type KeyMap struct {
	// Prefix is the root directory followed by "/", or "" for the root of
	// the bucket or container.
	Prefix string
}

// NewKeyMap returns the KeyMap of a root directory given without leading
// or trailing slashes ("" for none).
func NewKeyMap(root string) KeyMap {
	if root == "" {
		return KeyMap{}
	}
	return KeyMap{Prefix: root + "/"}
}

// Key maps a valid path other than "/" to its key.
func (m KeyMap) Key(path string) string { return m.Prefix + path[1:] }

// Dir maps a valid directory path ("/" included) to the key prefix of
// everything under it.
func (m KeyMap) Dir(path string) string {
	if path == "/" {
		return m.Prefix
	}
	return m.Prefix + path[1:] + "/"
}

// Path maps a key back to its path. ok is false for a key outside the root
// or one that is no valid path (a backend's own bookkeeping under a name
// with "~", or foreign keys such as "a//b" or "a/b/" markers): listings
// leave those out.
func (m KeyMap) Path(key string) (path string, ok bool) {
	rel, found := strings.CutPrefix(key, m.Prefix)
	if !found || rel == "" {
		return "", false
	}
	p := "/" + rel
	if ValidatePath("", p) != nil {
		return "", false
	}
	return p, true
}

// AnyPath maps a key under the root to a path for messages, valid or not.
func (m KeyMap) AnyPath(key string) string { return "/" + strings.TrimPrefix(key, m.Prefix) }
