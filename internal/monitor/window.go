package monitor

import (
	"slices"
	"time"
)

// topicState is what the monitor keeps about one port topic it owns: where
// each partition was read to and its newest event time, and the open
// windows of each series. It is written to the state topic in the
// transaction that commits the offsets it reflects.
type topicState struct {
	Topic  string                  `json:"topic"`
	Parts  map[int32]*partState    `json:"parts"`
	Series map[string]*seriesState `json:"series"`

	conf  *portConf      // the configuration the windows' slices follow
	idle  map[int32]bool // partitions read to their end at the last probe
	probe time.Time      // when the end offsets were last listed
	dirty bool           // changed in the batch under way
}

// partState is one partition of a port topic.
type partState struct {
	Next   int64 `json:"next"`             // offset of the next record to read
	Newest int64 `json:"newest,omitempty"` // newest event time read, Unix ms
	Seen   bool  `json:"seen,omitempty"`   // whether a data record was read
}

// seriesState is the windows of one length on one port topic.
type seriesState struct {
	// Next is the start (Unix ms) of the earliest window not yet closed;
	// Started says the stream's first record set it.
	Next    int64 `json:"next"`
	Started bool  `json:"started"`
	// Closed says a window was closed: records before Next are late from
	// then on (before, the first window moves back to take them).
	Closed bool              `json:"closed,omitempty"`
	Open   map[int64]*window `json:"open"`
}

// window is the measures of one open window. The slices follow the
// topic's portConf (cols, rules, uniq); in the state topic they are maps by
// column or rule text, so that a new descriptor version keeps the counts of
// the measures it still has.
type window struct {
	Volume      int64 // records with an event time in the window
	Undecodable int64 // of which could not be decoded
	Newest      int64 // newest event time, Unix ms (when Volume > 0)
	nonNull     []int64
	pass        []int64
	uniqN       []int64               // non-null values of each unique column
	hashes      []map[uint64]struct{} // distinct values of each unique column
	fresh       [][]uint64            // hashes not yet written to the state topic
	chunks      []int                 // hash chunks written, per unique column
}

func newWindow(c *portConf) *window {
	w := &window{
		nonNull: make([]int64, len(c.cols)),
		pass:    make([]int64, len(c.rules)),
		uniqN:   make([]int64, len(c.uniq)),
		hashes:  make([]map[uint64]struct{}, len(c.uniq)),
		fresh:   make([][]uint64, len(c.uniq)),
		chunks:  make([]int, len(c.uniq)),
	}
	for i := range w.hashes {
		w.hashes[i] = map[uint64]struct{}{}
	}
	return w
}

// add measures one observation in the window.
func (w *window) add(o *obs) {
	w.Volume++
	if o.ts > w.Newest || w.Volume == 1 {
		w.Newest = o.ts
	}
	if o.bad {
		w.Undecodable++
		return
	}
	for i := range w.nonNull {
		if o.nonNull&(1<<i) != 0 {
			w.nonNull[i]++
		}
	}
	for i := range w.pass {
		if o.pass&(1<<i) != 0 {
			w.pass[i]++
		}
	}
	for i := range w.uniqN {
		if o.uniq&(1<<i) == 0 {
			continue
		}
		w.uniqN[i]++
		h := o.hashes[i]
		if _, dup := w.hashes[i][h]; !dup {
			w.hashes[i][h] = struct{}{}
			w.fresh[i] = append(w.fresh[i], h)
		}
	}
}

// remap moves the window's measures from configuration from to to, by
// column and rule text; a measure new in to starts at zero.
func (w *window) remap(from, to *portConf) {
	nw := newWindow(to)
	for i, c := range to.cols {
		if j := slices.Index(from.cols, c); j >= 0 {
			nw.nonNull[i] = w.nonNull[j]
		}
	}
	for i, r := range to.ruleText {
		if j := slices.Index(from.ruleText, r); j >= 0 {
			nw.pass[i] = w.pass[j]
		}
	}
	for i, c := range to.uniq {
		if j := slices.Index(from.uniq, c); j >= 0 {
			nw.uniqN[i], nw.hashes[i], nw.fresh[i], nw.chunks[i] = w.uniqN[j], w.hashes[j], w.fresh[j], w.chunks[j]
		}
	}
	w.nonNull, w.pass, w.uniqN, w.hashes, w.fresh, w.chunks = nw.nonNull, nw.pass, nw.uniqN, nw.hashes, nw.fresh, nw.chunks
}

// obs is what one record contributes: its event time and, decoded, which
// columns are not null, which rules pass and the hashes of its unique
// columns' values. Bits follow the portConf's slices.
type obs struct {
	ts      int64 // event time, Unix ms
	control bool  // a transaction marker: only its offset counts
	retry   bool  // the registry did not answer: the batch is retried
	bad     bool  // undecodable
	nonNull uint64
	pass    uint64
	uniq    uint64
	hashes  []uint64
	err     error
}

// windowStart returns the start of the window of length w (ms) holding ts:
// windows are aligned on the Unix epoch.
func windowStart(ts, w int64) int64 {
	s := ts - ts%w
	if ts < 0 && ts%w != 0 {
		s -= w
	}
	return s
}

// watermark returns the topic's event-time watermark over its partitions
// parts (those assigned): the oldest of the newest event times of the
// partitions that still have records to read; when every partition is read
// to its end, the newest event time of all. ok is false while a partition
// with records to read has given none yet (it holds every window open).
func (t *topicState) watermark(parts []int32) (wm int64, ok bool) {
	lowest, any := int64(0), false
	newest, seen := int64(0), false
	for _, p := range parts {
		ps := t.Parts[p]
		if ps != nil && ps.Seen && (!seen || ps.Newest > newest) {
			newest, seen = ps.Newest, true
		}
		if t.idle[p] {
			continue
		}
		if ps == nil || !ps.Seen {
			return 0, false
		}
		if !any || ps.Newest < lowest {
			lowest, any = ps.Newest, true
		}
	}
	if any {
		return lowest, true
	}
	return newest, seen
}

// held reports whether a partition that is not known to be read to its end
// holds the watermark below the topic's newest event time: only then are
// the end offsets worth listing.
func (t *topicState) held(parts []int32) bool {
	wm, ok := t.watermark(parts)
	var newest int64
	seen := false
	for _, p := range parts {
		if ps := t.Parts[p]; ps != nil && ps.Seen && (!seen || ps.Newest > newest) {
			newest, seen = ps.Newest, true
		}
	}
	if !seen {
		// Nothing read yet: a probe tells whether there is anything at all.
		return false
	}
	return !ok || wm < newest
}
