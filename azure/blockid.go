package azure

import (
	"encoding/base64"
	"fmt"
	"sort"
)

// Block IDs. Azure requires every block ID of a blob to be base64 and, for
// the uncommitted blocks of one blob, of one length, so the driver's IDs
// are the base64 of a fixed-length string:
//
//	stowage-GGGGGGGG-IIIIIIII
//
// G is the writer generation and I the block index, both 8 hex digits.
// Every Writer that does not resume starts a new generation, one above the
// highest of the blob's uncommitted and committed blocks, so the blocks of
// an abandoned earlier writer can stay behind (Azure offers no call that
// drops uncommitted blocks short of a commit) without ever being resumed,
// and a continuation's blocks never share an ID with the committed blocks
// it builds on. Indexes firstDataBlock.. hold the content in order; the
// others are one-byte marker blocks, never committed:
//
//   - markerOpen records a generation with no data yet, and ends the copy
//     of a markerCopying generation;
//   - markerCancelled records a cancelled generation (staged by the
//     Cancel of versions before Driver.StagedUploads; Cancel now deletes
//     the staging blob, and such a generation is still never resumed);
//   - markerCopying opens a generation that continues a committed file by
//     holding a copy of its content as its first data blocks; it is
//     resumable only once the copy is complete (its markerOpen exists);
//   - markerSeeded+n opens a generation that continues a committed file
//     by reusing its n committed blocks (n <= MaxBlocks): Commit puts
//     them first in the block list.
const (
	blockIDPrefix = "stowage-"
	blockIDFormat = blockIDPrefix + "%08x-%08x"
	blockIDLen    = len(blockIDPrefix) + 8 + 1 + 8

	markerOpen      uint32 = 0
	firstDataBlock  uint32 = 1
	markerSeeded    uint32 = 0x80000000
	markerCopying   uint32 = 0xfffffffe
	markerCancelled uint32 = 0xffffffff
)

// markerContent is the content of a marker block (Put Block needs a body).
var markerContent = []byte{0}

// blockID returns the base64 block ID of generation gen, index idx.
func blockID(gen, idx uint32) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, blockIDFormat, gen, idx))
}

// parseBlockID decodes an ID made by blockID; ok is false for any other
// (a block staged by another tool).
func parseBlockID(id string) (gen, idx uint32, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(id)
	if err != nil || len(raw) != blockIDLen {
		return 0, 0, false
	}
	var g, i uint32
	if n, err := fmt.Sscanf(string(raw), blockIDFormat, &g, &i); err != nil || n != 2 {
		return 0, 0, false
	}
	if blockID(g, i) != id {
		return 0, 0, false // not in canonical form
	}
	return g, i, true
}

// stagedBlock is one uncommitted block of the driver's.
type stagedBlock struct {
	gen, idx uint32
	size     int64
}

// session is what the uncommitted blocks of a blob say about its writers.
type session struct {
	maxGen    uint32        // highest generation seen (0: none)
	any       bool          // any block of the driver's at all
	cancelled bool          // maxGen ends with a cancelled marker
	open      bool          // maxGen has its markerOpen
	copying   bool          // maxGen began with a markerCopying
	seeded    bool          // maxGen began with a markerSeeded+seedCount
	seedCount int           // committed blocks a seeded maxGen continues
	data      []stagedBlock // data blocks of maxGen, by index
	foreign   int           // uncommitted blocks of other tools
	names     []string      // IDs of every uncommitted block
}

// readSession groups uncommitted blocks (ID, size) into a session.
func readSession(names []string, sizes []int64) session {
	s := session{names: names}
	var all []stagedBlock
	for i, name := range names {
		g, idx, ok := parseBlockID(name)
		if !ok {
			s.foreign++
			continue
		}
		all = append(all, stagedBlock{gen: g, idx: idx, size: sizes[i]})
		if !s.any || g > s.maxGen {
			s.maxGen = g
		}
		s.any = true
	}
	for _, b := range all {
		if b.gen != s.maxGen {
			continue
		}
		switch {
		case b.idx == markerOpen:
			s.open = true
		case b.idx == markerCancelled:
			s.cancelled = true
		case b.idx == markerCopying:
			s.copying = true
		case b.idx >= markerSeeded && b.idx <= markerSeeded+MaxBlocks:
			s.seeded, s.seedCount = true, int(b.idx-markerSeeded)
		default:
			s.data = append(s.data, b)
		}
	}
	sort.Slice(s.data, func(i, j int) bool { return s.data[i].idx < s.data[j].idx })
	return s
}

// resumable reports whether the session holds a writer to resume: one
// not cancelled, and, for one that copies a committed file, whose copy is
// complete.
func (s session) resumable() bool {
	return s.any && !s.cancelled && (!s.copying || s.open)
}
