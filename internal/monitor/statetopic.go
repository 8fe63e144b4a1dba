package monitor

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"

	"github.com/meshbone/meshbone/internal/kafka/topicread"
	"github.com/meshbone/meshbone/internal/kafka/txn"
	"github.com/meshbone/meshbone/pkg/events"
)

// The state topic holds, per port topic, a head record under "t/<topic>"
// (JSON: its partitions and open windows, the measures by column or rule
// text) and the distinct value hashes of the windows' unique columns in
// chunks under "h/<topic>|<series>|<start>|<column>|<n>" (8 bytes each,
// little endian), one chunk per transaction that found new values. A
// closed window's chunks are deleted (tombstones) in the transaction that
// publishes it.
const (
	headKey  = "t/"
	chunkKey = "h/"
)

// RebuildTimeout bounds reading the state topic back.
const RebuildTimeout = 2 * time.Minute

// wireWindow is a window as the head record holds it.
type wireWindow struct {
	Volume      int64            `json:"volume"`
	Undecodable int64            `json:"undecodable,omitempty"`
	Newest      int64            `json:"newest,omitempty"`
	NonNull     map[string]int64 `json:"non_null,omitempty"`
	Pass        map[string]int64 `json:"pass,omitempty"`
	UniqN       map[string]int64 `json:"uniq_n,omitempty"`
	Chunks      map[string]int   `json:"chunks,omitempty"`
}

type wireSeries struct {
	Next    int64                 `json:"next"`
	Started bool                  `json:"started"`
	Closed  bool                  `json:"closed,omitempty"`
	Open    map[string]wireWindow `json:"open,omitempty"`
}

type wireHead struct {
	Topic  string                 `json:"topic"`
	Parts  map[string]*partState  `json:"parts"`
	Series map[string]*wireSeries `json:"series,omitempty"`
	// Columns, rules and unique columns the windows were measured with.
	Cols  []string `json:"cols,omitempty"`
	Rules []string `json:"rules,omitempty"`
	Uniq  []string `json:"uniq,omitempty"`
}

// encodeHead encodes the head record of t.
func encodeHead(t *topicState) ([]byte, error) {
	c := t.conf
	h := wireHead{Topic: t.Topic, Parts: map[string]*partState{}, Series: map[string]*wireSeries{}, Cols: c.cols, Rules: c.ruleText, Uniq: c.uniq}
	for p, ps := range t.Parts {
		h.Parts[strconv.Itoa(int(p))] = ps
	}
	for k, s := range t.Series {
		ws := &wireSeries{Next: s.Next, Started: s.Started, Closed: s.Closed, Open: map[string]wireWindow{}}
		for start, w := range s.Open {
			ww := wireWindow{Volume: w.Volume, Undecodable: w.Undecodable, Newest: w.Newest,
				NonNull: map[string]int64{}, Pass: map[string]int64{}, UniqN: map[string]int64{}, Chunks: map[string]int{}}
			for i, col := range c.cols {
				ww.NonNull[col] = w.nonNull[i]
			}
			for i, r := range c.ruleText {
				ww.Pass[r] = w.pass[i]
			}
			for i, col := range c.uniq {
				ww.UniqN[col] = w.uniqN[i]
				ww.Chunks[col] = w.chunks[i]
			}
			ws.Open[strconv.FormatInt(start, 10)] = ww
		}
		h.Series[k] = ws
	}
	return json.Marshal(h)
}

// chunkName is the key of chunk n of a window's unique column.
func chunkName(topic, series string, start int64, col string, n int) string {
	return chunkKey + topic + "|" + series + "|" + strconv.FormatInt(start, 10) + "|" + col + "|" + strconv.Itoa(n)
}

// encodeHashes encodes hashes as a chunk value.
func encodeHashes(hs []uint64) []byte {
	b := make([]byte, 8*len(hs))
	for i, h := range hs {
		binary.LittleEndian.PutUint64(b[8*i:], h)
	}
	return b
}

// readState reads the state topic as committed and returns the state of
// the port topics for which want is true, each with conf as its
// configuration (a topic the view no longer has is left out).
func (s *Service) readState(ctx context.Context, want func(topic string) *portConf) (map[string]*topicState, error) {
	ctx, cancel := context.WithTimeout(ctx, RebuildTimeout)
	defer cancel()
	last := map[string][]byte{}
	// A state topic just created is unknown to the brokers for a moment:
	// with franz-go's default metadata age the retry would wait 5 s.
	kopts := append([]kgo.Opt{kgo.MetadataMinAge(txn.MetadataMinAge)}, s.kopts...)
	err := topicread.ReadCommitted(ctx, kopts, s.state, func(r *kgo.Record) {
		if r.Value == nil {
			delete(last, string(r.Key))
			return
		}
		last[string(r.Key)] = r.Value
	})
	if err != nil {
		return nil, err
	}
	out := map[string]*topicState{}
	for k, v := range last {
		topic, ok := strings.CutPrefix(k, headKey)
		if !ok {
			continue
		}
		conf := want(topic)
		if conf == nil {
			continue
		}
		var h wireHead
		if err := json.Unmarshal(v, &h); err != nil {
			s.log.Warn("state record skipped", zap.String("key", k), zap.Error(err))
			continue
		}
		from := &portConf{cols: h.Cols, ruleText: h.Rules, uniq: h.Uniq}
		from.rules = make([]*events.Rule, len(h.Rules))
		t := &topicState{Topic: topic, Parts: map[int32]*partState{}, Series: map[string]*seriesState{}, conf: conf, idle: map[int32]bool{}}
		for p, ps := range h.Parts {
			n, err := strconv.Atoi(p)
			if err != nil {
				continue
			}
			t.Parts[int32(n)] = ps
		}
		for key, ws := range h.Series {
			ss := &seriesState{Next: ws.Next, Started: ws.Started, Closed: ws.Closed, Open: map[int64]*window{}}
			for st, ww := range ws.Open {
				start, err := strconv.ParseInt(st, 10, 64)
				if err != nil {
					continue
				}
				w := newWindow(from)
				w.Volume, w.Undecodable, w.Newest = ww.Volume, ww.Undecodable, ww.Newest
				for i, col := range from.cols {
					w.nonNull[i] = ww.NonNull[col]
				}
				for i, r := range from.ruleText {
					w.pass[i] = ww.Pass[r]
				}
				for i, col := range from.uniq {
					w.uniqN[i], w.chunks[i] = ww.UniqN[col], ww.Chunks[col]
					for n := range w.chunks[i] {
						b := last[chunkName(topic, key, start, col, n)]
						for j := 0; j+8 <= len(b); j += 8 {
							w.hashes[i][binary.LittleEndian.Uint64(b[j:])] = struct{}{}
						}
					}
				}
				w.remap(from, conf)
				ss.Open[start] = w
			}
			t.Series[key] = ss
		}
		out[topic] = t
	}
	return out, nil
}

// String describes a window for logs and errors.
func describe(conf *portConf, series string, start int64) string {
	return fmt.Sprintf("%s port %s window %s of %s", conf.Product, conf.Port, time.UnixMilli(start).UTC().Format(time.RFC3339), series)
}
