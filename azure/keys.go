package azure

import "strings"

// Blob names. Azure trims the dots at the end of every segment of a blob
// name ("Avoid blob names that end with a dot (.), a forward slash (/), or
// a sequence or combination of the two. No path segments should end with
// a dot (.)": https://learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata),
// and checks SAS signatures against the trimmed name. stowage paths may
// have components ending in "." (a docker tag "v1."), so the key of such
// a path (driver.KeyMap) would reach the blob of another path: "t/v1."
// would be "t/v1". The backend therefore stores every key under its blob
// name, which differs from the key only where a segment ends in ".":
//
//   - the last segment gets lastDotEscape appended: "t/v1." is "t/v1.!";
//   - any other segment gets midDotEscape: "t./x" is "t..~/x".
//
// Neither escape holds a character of a valid path ([A-Za-z0-9._-]), so
// no key of a valid path has another's blob name, and no blob name of a
// valid path has a segment ending in ".". The two escapes are chosen so
// that blob names sort exactly as their keys do (byte order): a key's
// end sorts before any character ("!" is below every path character), a
// "/" between "." and "0" (".~" sorts after every "." followed by path
// characters and before "0"). Listings therefore come back in key order,
// which Walk, Delete and start-after rely on, and a key prefix ending in a
// complete segment maps to the blob prefix of exactly the keys under it.
// The mapping is the identity for every key without such a segment, so
// blobs written before it keep their names. FuzzBlobNames checks all of
// this.
//
// Blob names that are no blob name of any key (a segment ending in "."
// that Azure would not have kept, as Azurite does; an escape where it
// cannot be) are reported to the Store under a key that is no valid path
// (see listedKey), so listings skip them and Delete still removes them
// with the directory they lie in.
const (
	lastDotEscape = "!"
	midDotEscape  = ".~"
)

// blobName returns the blob name of key, a driver.KeyMap key (root prefix
// included) or a start-after key: every segment ending in "." is escaped.
func blobName(key string) string { return escapeSegments(key, true) }

// blobPrefix returns the blob name prefix of the key prefix p: the
// segments followed by "/" are escaped, the last one, which may be the
// beginning of longer segments, is left as it is.
func blobPrefix(p string) string { return escapeSegments(p, false) }

// escapeSegments escapes the segments of s that end in "."; the last one
// only when last is set.
func escapeSegments(s string, last bool) string {
	if !strings.Contains(s, "./") && !strings.HasSuffix(s, ".") {
		return s
	}
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		if !strings.HasSuffix(seg, ".") {
			continue
		}
		switch {
		case i < len(segs)-1:
			segs[i] = seg + midDotEscape
		case last:
			segs[i] = seg + lastDotEscape
		}
	}
	return strings.Join(segs, "/")
}

// keyOf maps a blob name back to its key. ok is false for a name that is
// the blob name of no key.
func keyOf(name string) (key string, ok bool) {
	if !strings.Contains(name, midDotEscape) && !strings.Contains(name, lastDotEscape) &&
		!strings.Contains(name, "./") && !strings.HasSuffix(name, ".") {
		return name, true // the common case: no segment ends in "."
	}
	segs := strings.Split(name, "/")
	for i, seg := range segs {
		if i < len(segs)-1 {
			segs[i] = strings.TrimSuffix(seg, midDotEscape)
		} else {
			segs[i] = strings.TrimSuffix(seg, lastDotEscape)
		}
	}
	key = strings.Join(segs, "/")
	return key, blobName(key) == name
}

// listedKey is the key under which a listing reports the blob name (or
// "/"-terminated name prefix) name to the Store: its key, or, for a name
// that is the blob name of no key, the escapes taken out as keyOf does
// and "/" appended, which is never a valid path (a trailing slash; or, for
// a prefix, an empty last segment) yet keeps the name's place under its
// directory, so that Delete of the directory removes it too.
func listedKey(name string) string {
	key, ok := keyOf(name)
	if !ok {
		key += "/"
	}
	return key
}
