package driver

import (
	"strings"
)

// ValidatePath checks path against stowage's path rules and returns an
// *InvalidPathError naming driverName when it breaks one:
//
//   - it is absolute and "/"-separated, with no trailing "/" and no empty
//     component;
//   - every component matches [A-Za-z0-9._-]+;
//   - no component is "." or "..".
//
// "/" itself is not valid here; use ValidateDirPath where it is (Stat,
// List, Walk).
func ValidatePath(driverName, path string) error {
	if reason := pathProblem(path); reason != "" {
		return &InvalidPathError{Path: path, DriverName: driverName, Reason: reason}
	}
	return nil
}

// ValidateDirPath is ValidatePath that also accepts the root, "/".
func ValidateDirPath(driverName, path string) error {
	if path == "/" {
		return nil
	}
	return ValidatePath(driverName, path)
}

func pathProblem(path string) string {
	switch {
	case path == "":
		return "empty"
	case path == "/":
		return "the root is not valid here"
	case path[0] != '/':
		return "not absolute"
	case path[len(path)-1] == '/':
		return "trailing slash"
	}
	for _, c := range strings.Split(path[1:], "/") {
		switch c {
		case "":
			return "empty component"
		case ".", "..":
			return "component " + c + " is not allowed"
		}
		for i := 0; i < len(c); i++ {
			if !validComponentByte(c[i]) {
				return "component " + `"` + c + `"` + " has a character outside [A-Za-z0-9._-]"
			}
		}
	}
	return ""
}

func validComponentByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' ||
		b == '.' || b == '_' || b == '-'
}

// ValidComponent reports whether name is a valid path component. Backends
// use it to hide their own bookkeeping entries, which they name so that no
// valid path can reach them.
func ValidComponent(name string) bool {
	if name == "" || name == "." || name == ".." {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !validComponentByte(name[i]) {
			return false
		}
	}
	return true
}

// ParentDir returns the parent directory of a valid path ("/" for a
// top-level entry).
func ParentDir(path string) string {
	i := strings.LastIndexByte(path, '/')
	if i <= 0 {
		return "/"
	}
	return path[:i]
}

// JoinPath joins a directory path and a child name.
func JoinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// IsUnder reports whether path lies strictly below dir ("/a/b" is under
// "/a", "/a/bc" is not under "/a/b"). Everything but "/" is under "/".
func IsUnder(path, dir string) bool {
	if dir == "/" {
		return path != "/" && strings.HasPrefix(path, "/")
	}
	return len(path) > len(dir) && path[len(dir)] == '/' && strings.HasPrefix(path, dir)
}
