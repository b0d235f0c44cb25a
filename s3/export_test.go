package s3

// SetMaxParts makes drivers built from c allow at most n parts per
// multipart upload instead of MaxParts, so that tests reach the limit
// with a few small parts.
func SetMaxParts(c *Config, n int) { c.maxParts = n }
