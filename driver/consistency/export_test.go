package consistency

import "github.com/stowage-dev/stowage/driver"

// Entries returns the number of records a wrapper holds.
func Entries(d driver.StorageDriver) int {
	w := d.(*wrapped)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t.entries()
}

// Nodes returns the number of path nodes a wrapper holds.
func Nodes(d driver.StorageDriver) int {
	w := d.(*wrapped)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t.nodes
}

// Sessions returns the number of saved upload hash states.
func Sessions(d driver.StorageDriver) int {
	w := d.(*wrapped)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sessions.len()
}

// Locks returns the number of path locks held or waited for.
func Locks(d driver.StorageDriver) int {
	w := d.(*wrapped)
	w.locks.mu.Lock()
	defer w.locks.mu.Unlock()
	return len(w.locks.m)
}
